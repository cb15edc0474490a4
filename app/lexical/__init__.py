"""Lexical ranking: terms of any language and their BM25 sparse vectors."""

from app.lexical.bm25 import SparseTerms, document_vector, query_vector
from app.lexical.terms import TermSplitter

__all__ = ["SparseTerms", "TermSplitter", "document_vector", "query_vector"]
