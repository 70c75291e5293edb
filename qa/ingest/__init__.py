"""Ingest: files, feeds and uploads become clean dated articles, chunks and the index."""
