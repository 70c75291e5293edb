"""The ingest pipeline that embeds one group ahead (qa/ingest/ahead.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from qa.ingest.ahead import Lookup, embedded_ahead
from qa.ingest.index import Index
from tests.conftest import HashEmbedder, make_settings


class Recording(HashEmbedder):
    """Records, per call, the texts and the thread; can be told to fail on one text."""

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__()
        self.calls: list[tuple[list[str], str]] = []
        self.fail_on = fail_on

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append((list(texts), threading.current_thread().name))
        if self.fail_on in texts:
            raise RuntimeError(f"cannot embed {self.fail_on!r}")
        return super().embed_documents(texts)


def test_each_item_comes_with_its_vectors_and_the_next_is_prepared_first() -> None:
    embedder = Recording()
    events: list[str] = []

    def texts_of(item: list[str]) -> list[str]:
        events.append(f"prepared {item[0]}")
        return item

    items = [["a one", "a two", "a one"], ["b one"], ["c one", "c two"]]
    for item, vectors in embedded_ahead(items, texts_of, embedder):
        events.append(f"written {item[0]}")
        assert set(vectors) == set(item)
        assert all(vectors[t] == embedder.embed_query(t) for t in item)
    # one ahead: item k+1 is chunked (and its embedding queued) before item k is written
    assert events == [
        "prepared a one",
        "prepared b one",
        "written a one",
        "prepared c one",
        "written b one",
        "written c one",
    ]
    # repeated texts embed once; embedding ran in the worker thread, never in the writer's
    assert [texts for texts, _ in embedder.calls] == [["a one", "a two"], ["b one"], items[2]]
    assert {thread for _, thread in embedder.calls} != {threading.current_thread().name}
    assert all(thread.startswith("qa-embed") for _, thread in embedder.calls)


def test_an_embedding_error_reaches_the_writer_at_its_group() -> None:
    embedder = Recording(fail_on="b one")
    written = []
    with pytest.raises(RuntimeError, match="cannot embed 'b one'"):
        for item, _ in embedded_ahead([["a one"], ["b one"], ["c one"]], list, embedder):
            written.append(item)
    assert written == [["a one"]]


def test_lookup_hands_out_vectors_and_embeds_only_what_is_missing() -> None:
    embedder = Recording()
    lookup = Lookup(embedder)
    lookup.vectors = {"known": [1.0, 0.0]}
    assert lookup.embed_documents(["known", "new", "new"]) == [
        [1.0, 0.0],
        embedder.embed_query("new"),
        embedder.embed_query("new"),
    ]
    assert [texts for texts, _ in embedder.calls] == [["new"]]


def test_an_ingest_embeds_each_new_chunk_once_and_a_second_ingest_none(tmp_path: Path) -> None:
    embedder = Recording()
    index = Index(make_settings(tmp_path), embedder)
    first = index.ingest()
    embedded = [t for texts, _ in embedder.calls for t in texts]
    assert first.chunks_added == index.store.count() > 0
    assert len(embedded) == len(set(embedded)) == first.chunks_added
    assert all(thread.startswith("qa-embed") for _, thread in embedder.calls)
    embedder.calls.clear()
    second = index.ingest()
    assert second.chunks_added == 0
    assert [t for texts, _ in embedder.calls for t in texts] == []
