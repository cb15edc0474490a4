"""Polyglot search: the retrieval service and the runtime pieces the indexer shares."""
