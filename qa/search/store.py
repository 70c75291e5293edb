"""The vector store: Chroma through langchain-chroma, embedded (PersistentClient) or a server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from filelock import FileLock
from langchain_chroma import Chroma

from qa.config import Settings
from qa.errors import IndexStateError
from qa.search.embedding import Embedder
from qa.types import StoredChunk

TIE_MARGIN = 8  # extra nearest chunks asked for, so chunks tied at the k-th place are seen


def by_similarity(chunk: StoredChunk) -> tuple[float, str]:
    """Best first; equal similarities by chunk id, not by where Chroma stored the chunks
    (a rebuilt or recovered index stores them in another order: issue 27, item 7)."""
    return -chunk.similarity, chunk.chunk_id


def open_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise IndexStateError(f"QA_CHROMA_URL {settings.chroma_url!r} has no host")
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)


class ChunkStore:
    """Chunks with their vectors; refuses to mix vectors of two embedding models."""

    def __init__(self, settings: Settings, embedder: Embedder, client: Any = None) -> None:
        self.client = client or open_client(settings)
        self.name = settings.collection
        self.embedder = embedder
        self.vectors = Chroma(
            collection_name=settings.collection,
            embedding_function=embedder,  # type: ignore[arg-type]
            client=self.client,
            collection_metadata={"embedding_model": embedder.name, "embedding_dim": embedder.dim},
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
        self.collection = self.vectors._collection
        meta = self.collection.metadata or {}
        if (meta.get("embedding_model"), meta.get("embedding_dim")) != (
            embedder.name,
            embedder.dim,
        ):
            raise IndexStateError(
                f"the index at collection {self.name!r} was built with "
                f"{meta.get('embedding_model')!r} ({meta.get('embedding_dim')} dims), not "
                f"{embedder.name!r} ({embedder.dim} dims); rebuild it with `qa ingest --reset`"
            )
        self.load_lock = None if settings.chroma_url else settings.index_dir / ".chroma-load.lock"

    def vectors_using(self, embedding: Any) -> Chroma:
        """A LangChain view of this collection that embeds with `embedding` (ingest hands it
        the vectors it computed ahead)."""
        return Chroma(collection_name=self.name, embedding_function=embedding, client=self.client)

    def load(self) -> None:
        """Load the vector index now, one process at a time (called by the engine when it opens).

        Embedded Chroma loads its HNSW files at a process's first query and writes them back
        (the log applied): two `qa ask` processes starting at once could read the files while
        the other rewrites them (issue 27, item 7). Nothing to do with a Chroma server."""
        if self.load_lock is None:
            return
        with FileLock(str(self.load_lock), timeout=300):
            if self.count():
                self.collection.query(
                    query_embeddings=[[1.0] + [0.0] * (self.embedder.dim - 1)],  # type: ignore[arg-type]
                    n_results=1,
                    include=[],
                )

    def count(self) -> int:
        return int(self.collection.count())

    def search(
        self,
        vector: list[float],
        k: int,
        where: dict[str, Any] | None = None,
        ids: list[str] | None = None,
    ) -> list[StoredChunk]:
        """The `k` chunks nearest to `vector`; only among `ids` when given (much faster than
        the same set described by a `where` on metadata)."""
        if ids is not None and not ids:  # (no count() first: 38 ms at 500k chunks; an empty
            return []  # collection answers a query with no results)
        result = self.collection.query(
            query_embeddings=[vector],  # type: ignore[arg-type]
            ids=ids,
            n_results=min(k + TIE_MARGIN, len(ids)) if ids else k + TIE_MARGIN,
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        docs = (result["documents"] or [[]])[0]
        metas = (result["metadatas"] or [[]])[0]
        dists = (result["distances"] or [[]])[0]
        found = [
            StoredChunk(i, d or "", dict(m or {}), 1.0 - float(dist))
            for i, d, m, dist in zip(result["ids"][0], docs, metas, dists, strict=True)
        ]
        return sorted(found, key=by_similarity)[:k]

    def nearest_among(self, vector: list[float], ids: list[str], k: int) -> list[StoredChunk]:
        """`search(vector, k, ids=ids)` by exact cosine over those chunks' stored vectors:
        Chroma's HNSW search restricted to a few hundred ids walks most of the graph (58 ms
        for 34 ids at 87.5k chunks, against 3 ms here; docs/benchmarks.md)."""
        if not ids:
            return []
        found = self.collection.get(ids=ids, include=["embeddings"])
        matrix = np.asarray(found["embeddings"], dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(query))
        sims = (matrix @ query) / np.where(norms > 0, norms, 1.0)
        top = sorted(range(len(sims)), key=lambda i: (-float(sims[i]), found["ids"][i]))[:k]
        chosen = {found["ids"][i]: float(sims[i]) for i in top}
        chunks = {c.chunk_id: c for c in self.get(ids=list(chosen))}
        return [
            StoredChunk(cid, chunks[cid].text, chunks[cid].metadata, sim)
            for cid, sim in chosen.items()
            if cid in chunks
        ]

    def get(
        self, ids: list[str] | None = None, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        result = self.collection.get(ids=ids, where=where, include=["documents", "metadatas"])
        docs = result["documents"] or []
        metas = result["metadatas"] or []
        return [
            StoredChunk(i, d or "", dict(m or {}))
            for i, d, m in zip(result["ids"], docs, metas, strict=True)
        ]

    def iter_all(self, page: int = 5000) -> Iterator[StoredChunk]:
        offset = 0
        while True:
            result = self.collection.get(
                limit=page, offset=offset, include=["documents", "metadatas"]
            )
            if not result["ids"]:
                return
            docs = result["documents"] or []
            metas = result["metadatas"] or []
            for i, d, m in zip(result["ids"], docs, metas, strict=True):
                yield StoredChunk(i, d or "", dict(m or {}))
            offset += len(result["ids"])

    def delete(self, ids: list[str]) -> None:
        if ids:
            self.collection.delete(ids=ids)
