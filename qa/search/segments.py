"""Immutable BM25 segments on disk: term counts per chunk, memory-mapped when read.

bm25s saves scores with the IDF and average length of the corpus it indexed baked in, so two
bm25s indexes built at different times score on different scales. A segment keeps raw term
counts instead; the reader (qa/search/lexical.py) scores with N, df and the average length of every
live chunk of every segment, so an index grown segment by segment ranks as a fresh build.
A segment is written into a hidden folder and renamed into place: a killed writer leaves
only a `.tmp-*` folder that no manifest names.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.text import STOP_WORDS
from qa.types import StoredChunk

_WORD = re.compile(r"\w+")
_ARRAYS = ("indptr", "docs", "tfs", "lens", "dates", "ids")


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


@dataclass(frozen=True)
class Segment:
    """One written segment. Postings of term t: `docs[indptr[t]:indptr[t+1]]` (local chunk
    numbers, ascending) with their counts in `tfs`."""

    name: str
    vocab: dict[str, int]
    indptr: np.ndarray
    docs: np.ndarray
    tfs: np.ndarray
    lens: np.ndarray  # words per chunk (stop words removed; an empty chunk counts one)
    dates: np.ndarray  # YYYYMMDD, 0 when unknown
    ids: np.ndarray  # chunk ids

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def open(cls, root: Path, name: str) -> Segment:
        folder = root / name
        terms = json.loads((folder / "vocab.json").read_text())
        arrays = {a: np.load(folder / f"{a}.npy", mmap_mode="r") for a in _ARRAYS}
        return cls(name, {t: i for i, t in enumerate(terms)}, **arrays)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        tid = self.vocab.get(term)
        if tid is None:
            return None
        lo, hi = int(self.indptr[tid]), int(self.indptr[tid + 1])
        return self.docs[lo:hi], self.tfs[lo:hi]


def _write(
    root: Path,
    terms: Sequence[str],
    term_of: np.ndarray,
    docs: np.ndarray,
    tfs: np.ndarray,
    lens: np.ndarray,
    dates: np.ndarray,
    ids: np.ndarray,
) -> str:
    """Write postings sorted by (term, doc) as a new segment folder; returns its name."""
    counts = np.bincount(term_of, minlength=len(terms))
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    name = f"seg-{uuid.uuid4().hex[:12]}"
    tmp = root / f".tmp-{name}"
    tmp.mkdir(parents=True)
    (tmp / "vocab.json").write_text(json.dumps(list(terms)))
    arrays: dict[str, np.ndarray] = {
        "indptr": indptr,
        "docs": docs.astype(np.int32),
        "tfs": tfs.astype(np.int32),
        "lens": lens.astype(np.int32),
        "dates": dates.astype(np.int64),
        "ids": ids,
    }
    for key, array in arrays.items():
        np.save(tmp / f"{key}.npy", array)
    os.rename(tmp, root / name)
    return name


class SegmentBuilder:
    """Chunks collected for one new segment: words as ids of one vocabulary (small lists)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.dates: list[int] = []
        self.vocab: dict[str, int] = {}
        self.rows: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, chunk: StoredChunk) -> None:
        self.ids.append(chunk.chunk_id)
        self.dates.append(chunk.meta.date_int or 0)
        words = tokenize(chunk.text) or ["_"]  # bm25s' placeholder: every chunk has a length
        vocab = self.vocab
        self.rows.append(np.array([vocab.setdefault(w, len(vocab)) for w in words], np.int32))

    def write(self, root: Path) -> str | None:
        """The segment's folder name, or None when nothing was added."""
        if not self.ids:
            return None
        n = len(self.ids)
        lens = np.array([len(r) for r in self.rows], dtype=np.int64)
        keys = np.concatenate(self.rows).astype(np.int64)
        keys *= n
        keys += np.repeat(np.arange(n, dtype=np.int64), lens)  # term * n + doc
        self.rows = []  # the memory goes back before the sort
        keys, tfs = np.unique(keys, return_counts=True)  # sorted: term, then doc
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        return _write(
            root, terms, keys // n, keys % n, tfs, lens, np.array(self.dates), np.array(self.ids)
        )


def merge(root: Path, parts: Sequence[tuple[Segment, np.ndarray]]) -> str | None:
    """One segment holding the live chunks of `parts` ((segment, live mask) pairs), in order;
    None when no chunk is live."""
    vocab: dict[str, int] = {}
    terms_l, docs_l, tfs_l, lens_l, dates_l, ids_l = [], [], [], [], [], []
    offset = 0
    for seg, live in parts:
        kept = int(live.sum())
        if not kept:
            continue
        renumber = np.cumsum(live) - 1 + offset
        names = sorted(seg.vocab, key=seg.vocab.__getitem__)
        to_global = np.array([vocab.setdefault(t, len(vocab)) for t in names], dtype=np.int64)
        term_of = np.repeat(to_global, np.diff(np.asarray(seg.indptr)))
        docs = np.asarray(seg.docs)
        keep = live[docs]
        terms_l.append(term_of[keep])
        docs_l.append(renumber[docs[keep]])
        tfs_l.append(np.asarray(seg.tfs)[keep])
        lens_l.append(np.asarray(seg.lens)[live])
        dates_l.append(np.asarray(seg.dates)[live])
        ids_l.append(np.asarray(seg.ids)[live])
        offset += kept
    if not offset:
        return None
    term_of, docs = np.concatenate(terms_l), np.concatenate(docs_l)
    order = np.lexsort((docs, term_of))
    terms = sorted(vocab, key=vocab.__getitem__)
    return _write(
        root,
        terms,
        term_of[order],
        docs[order],
        np.concatenate(tfs_l)[order],
        np.concatenate(lens_l),
        np.concatenate(dates_l),
        np.concatenate(ids_l),
    )
