"""qa/embedding.py: the packaged model, offline, loaded on first use; the query-time cache."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qa.embedding import CachedEmbedder, SentenceEmbedder
from qa.errors import IndexStateError
from tests.conftest import HashEmbedder


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


@pytest.mark.slow
def test_packaged_model_opens_without_torch_and_embeds_normalized_vectors() -> None:
    embedder = SentenceEmbedder()
    assert (embedder.dim, embedder.max_tokens) == (384, 256)  # read from the model folder
    assert embedder._model is None  # nothing loaded yet
    vectors = np.asarray(embedder.embed_documents(["Wagner in Mali", "Niger's junta"]))
    assert "torch" in sys.modules and embedder.embedded == 2
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.count_tokens(["Wagner in Mali"])[0] > 3
