"""Embedding one group ahead: while a group's chunks are written (Chroma, the record manager,
the catalog, BM25's new segment) the next group is chunked and embedded in one worker thread.

A bounded pipeline: at most one group embeds while one is written, so memory stays at two
groups. The writer stays the calling thread (the record manager and the catalog are used from
it alone); the embedder serialises its own batches with questions asked meanwhile."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from qa.config import Settings
from qa.ingest.chunking import chunk_article
from qa.search.embedding import Embedder
from qa.types import Article

if TYPE_CHECKING:
    from langchain_core.documents import Document

T = TypeVar("T")
Vectors = dict[str, list[float]]


def chunked(
    group: list[Article], settings: Settings, embedder: Embedder
) -> tuple[list[Article], list[Document], list[int]]:
    """A group's articles, their chunks as LangChain documents, and the count per article."""
    from langchain_core.documents import Document

    docs: list[Document] = []
    counts: list[int] = []
    for article in group:
        chunks = chunk_article(
            article,
            settings.chunk_tokens,
            settings.chunk_overlap,
            embedder.max_tokens,
            embedder.count_tokens,
        )
        counts.append(len(chunks))
        docs.extend(
            Document(page_content=c.text, metadata=c.metadata(), id=c.chunk_id) for c in chunks
        )
    return group, docs, counts


def embedded_ahead(
    items: Iterable[T], texts_of: Callable[[T], list[str]], embedder: Embedder
) -> Iterator[tuple[T, Vectors]]:
    """Each item with the vectors of its texts, the next item's texts embedding meanwhile.

    `items` and `texts_of` run in the calling thread, one item ahead of what is yielded."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-embed") as pool:
        pending: tuple[T, list[str], Future[list[list[float]]]] | None = None
        for item in items:
            texts = list(dict.fromkeys(texts_of(item)))
            future = pool.submit(embedder.embed_documents, texts)
            if pending is not None:
                yield _done(pending)
            pending = (item, texts, future)
        if pending is not None:
            yield _done(pending)


def _done(pending: tuple[T, list[str], Future[list[list[float]]]]) -> tuple[T, Vectors]:
    item, texts, future = pending
    return item, dict(zip(texts, future.result(), strict=True))


class Lookup:
    """LangChain embeddings that hand out the vectors computed ahead (`vectors`, replaced per
    group); a text not among them is embedded now, as without the pipeline."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.vectors: Vectors = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.embedder.embed_documents(missing), strict=True))
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)
