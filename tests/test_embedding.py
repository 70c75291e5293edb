"""qa/search/embedding.py: the packaged model, offline, loaded on first use; the query-time
cache."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import IndexStateError
from qa.ingest.index import Index
from qa.search.embedding import CachedEmbedder, SentenceEmbedder, make_embedder
from qa.search.retrieval import Retriever
from tests.conftest import SEEDS, HashEmbedder, make_settings


def test_unknown_model_name_is_a_clear_error() -> None:
    with pytest.raises(IndexStateError, match="QA_EMBEDDING_MODEL"):
        SentenceEmbedder("no/such-model")


def test_cache_embeds_each_text_once() -> None:
    inner = HashEmbedder()
    cached = CachedEmbedder(inner, size=3)
    first = cached.embed_documents(["a b", "c d", "a b"])
    assert inner.embedded == 2 and first[0] == first[2]
    assert cached.embed_query("a b") == first[0] and inner.embedded == 2
    cached.embed_documents(["e", "f", "g"])  # evicts the oldest
    cached.embed_query("a b")
    assert inner.embedded == 6


class _LengthModel:
    """A stand-in for a sentence-transformers model: one vector per text, from its length;
    records the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.batches.append(list(texts))
        return np.asarray([[float(len(t)), 1.0] for t in texts])


def test_batches_go_longest_first_and_vectors_come_back_in_input_order() -> None:
    embedder = SentenceEmbedder(batch_size=2)
    model = _LengthModel()
    embedder._model = model
    texts = ["a" * n for n in (3, 9, 1, 7, 5)]
    vectors = embedder.embed_documents(texts)
    assert [v[0] for v in vectors] == [3.0, 9.0, 1.0, 7.0, 5.0]  # each text its own vector
    assert [[len(t) for t in b] for b in model.batches] == [[9, 7], [5, 3], [1]]


@pytest.mark.slow
def test_packaged_model_opens_without_torch_and_embeds_normalized_vectors(
    tmp_path: Path,
) -> None:
    embedder = make_embedder(Settings(index_dir=tmp_path))
    assert (embedder.dim, embedder.max_tokens) == (384, 256)  # read from the model folder
    assert embedder._model is None  # nothing loaded yet
    vectors = np.asarray(embedder.embed_documents(["Wagner in Mali", "Niger's junta"]))
    assert embedder.embedded == 2
    assert type(embedder._model).__name__ == "OpenVINOEncoder"  # openvino alone, no torch
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.count_tokens(["Wagner in Mali"])[0] > 3


def _seed_windows(count: int) -> list[str]:
    """`count` distinct passages of real news text: sliding windows over the seed articles."""
    words = " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir())).split()
    step = max(1, (len(words) - 120) // count)
    return [" ".join(words[i * step : i * step + 20 + (i % 100)]) for i in range(count)]


@pytest.mark.slow
def test_openvino_vectors_equal_torch_vectors(tmp_path: Path) -> None:
    """The proof that lets one index serve both backends: cosine >= 0.9999 on 512 passages."""
    texts = _seed_windows(512)
    assert len(set(texts)) == 512
    openvino = make_embedder(Settings(index_dir=tmp_path))  # the default backend
    torch = SentenceEmbedder(backend="torch")
    ov_vectors = np.asarray(openvino.embed_documents(texts))
    torch_vectors = np.asarray(torch.embed_documents(texts))
    assert openvino.backend == "openvino" and openvino.name == torch.name
    cosines = (ov_vectors * torch_vectors).sum(axis=1)
    assert cosines.mean() >= 0.9999 and cosines.min() >= 0.999, (cosines.mean(), cosines.min())


@pytest.mark.slow
def test_openvino_that_cannot_run_falls_back_to_torch_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("the models folder cannot be created under a file")
    embedder = SentenceEmbedder(backend="openvino", cache_dir=blocked / "models")
    with caplog.at_level(logging.WARNING, logger="qa.search.embedding"):
        vector = embedder.embed_query("Niger's junta")
    assert embedder.backend == "torch"
    lines = [r.getMessage() for r in caplog.records if r.name == "qa.search.embedding"]
    assert len(lines) == 1 and "embedding with torch instead" in lines[0], lines
    expected = SentenceEmbedder(backend="torch").embed_query("Niger's junta")
    assert np.allclose(vector, expected, atol=1e-6)


@pytest.mark.slow
def test_an_index_built_with_torch_answers_the_same_with_openvino(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, embedding_backend="torch")
    torch_index = Index(settings, make_embedder(settings))
    torch_index.ingest()
    questions = [
        "Which general visited Mali to meet Wagner?",
        "What did ECOWAS threaten to do?",
        "Who was detained by the presidential guard?",
    ]
    torch_hits = [
        [p.chunk_id for p in Retriever(torch_index, torch_index.embedder).search(q, 5)]
        for q in questions
    ]
    openvino_settings = settings.model_copy(update={"embedding_backend": "openvino"})
    openvino_index = Index(openvino_settings, make_embedder(openvino_settings))  # no mismatch
    retriever = Retriever(openvino_index, openvino_index.embedder)
    assert [[p.chunk_id for p in retriever.search(q, 5)] for q in questions] == torch_hits
    assert openvino_index.embedder.backend == "openvino"  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["openvino", "torch"])
def test_counting_tokens_does_not_wait_for_the_model_and_counts_right(backend: str) -> None:
    """The chunker counts tokens while another thread embeds (qa/ingest/ahead.py): with its
    own tokenizer and lock it is neither blocked by the model nor racing its tokenizer."""
    embedder = SentenceEmbedder(backend=backend, batch_size=4)
    texts = [f"Report {i} on the harbour's budget, the ferries and the tides." for i in range(200)]
    expected = embedder.count_tokens(texts[:20])
    assert all(n > 10 for n in expected)
    # the model busy (its lock held): counting still returns
    done: list[list[int]] = []
    with embedder._lock:
        counter = threading.Thread(target=lambda: done.append(embedder.count_tokens(texts[:20])))
        counter.start()
        counter.join(timeout=30)
        assert done == [expected]  # checked while the lock is still held
    # and counting beside a real embedding gives the same counts, without tokenizer errors
    errors: list[BaseException] = []

    def embed() -> None:
        try:
            embedder.embed_documents(texts)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=embed)
    worker.start()
    counted = [embedder.count_tokens(texts[:20]) for _ in range(20)]
    worker.join()
    assert not errors
    assert all(c == expected for c in counted)
