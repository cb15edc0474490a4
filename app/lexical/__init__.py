"""Lexical ranking: terms of any language and their BM25 sparse vectors."""

from app.lexical.bm25 import SparseTerms, document_vector, query_vector
from app.lexical.terms import TERM_RULES, TermSplitter

__all__ = ["TERM_RULES", "SparseTerms", "TermSplitter", "document_vector", "query_vector"]
