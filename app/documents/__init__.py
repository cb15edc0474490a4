"""Documents: validation, chunking, point ids and the write path into a collection."""
