"""Highlights: the sentences of a hit that best match the query, in any pair of languages."""
