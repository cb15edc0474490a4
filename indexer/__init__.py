"""The batch indexer: read, validate, chunk, encode and upsert passages, idempotently."""
