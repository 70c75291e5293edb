"""Search: embeddings, the vector store, BM25, the catalog, hybrid date-aware retrieval."""
