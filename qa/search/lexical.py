"""BM25 over the chunks as a growing list of segments (qa/search/segments.py), named by a manifest.

An ingest adds one segment for its new chunks and tombstones the chunks it replaced or
deleted, instead of rebuilding everything; segments of similar size are merged (dropping
tombstoned chunks) once `FANOUT` of them pile up, LSM-style. Scores use corpus-wide
statistics over the live chunks (Lucene's BM25, bm25s' default: k1 1.5, b 0.75), so a grown
index ranks exactly as a fresh build of the same chunks.

A manifest `manifest-<version>.json` is written to a temporary name and renamed; the catalog
then points at the version. A reader (a replica) reloads when the catalog's version changes,
reusing the segments it already has open: segments never change once written.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from pathlib import Path

import numpy as np

from qa.search.segments import Segment, SegmentBuilder, merge, tokenize
from qa.types import StoredChunk

__all__ = ["FANOUT", "LexicalIndex", "tokenize"]

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import

K1, B = 1.5, 0.75
FANOUT = 4  # segments of one size class merged into one


def _size_class(live: int) -> int:
    return int(math.log(max(live, 1), FANOUT))


class LexicalIndex:
    def __init__(self, segments: list[Segment], dead: list[np.ndarray], version: str) -> None:
        self.segments = segments
        self.version = version
        self.alive = [np.ones(len(s), dtype=bool) for s in segments]
        for mask, gone in zip(self.alive, dead, strict=True):
            mask[gone] = False
        self.dead = dead
        self.offsets = np.cumsum([0] + [len(s) for s in segments])
        empty = np.zeros(0)
        self.chunk_ids: np.ndarray = np.concatenate([s.ids for s in segments] or [empty])
        self.live = np.concatenate(self.alive or [np.zeros(0, dtype=bool)])
        dates = np.concatenate([s.dates for s in segments] or [empty]).astype(np.int64)
        self.dates = np.where(self.live, dates, 0)  # YYYYMMDD, 0 when unknown (or tombstoned)
        self.n_live = int(self.live.sum())
        lengths = sum(
            int(np.asarray(s.lens)[m].sum()) for s, m in zip(segments, self.alive, strict=True)
        )
        self.avg_len = lengths / self.n_live if self.n_live else 1.0
        # the length part of BM25 per chunk, once per version (it moves with the average)
        self.norms = [
            (K1 * ((1 - B) + B * np.asarray(s.lens, dtype=np.float32) / self.avg_len)).astype(
                np.float32
            )
            for s in segments
        ]

    # -- on disk -----------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> LexicalIndex:
        return cls([], [], "")

    @classmethod
    def build(cls, chunks: Iterable[StoredChunk], root: Path) -> LexicalIndex:
        """A fresh index of `chunks`: one segment."""
        return cls.empty().grow(root, chunks, ())

    @classmethod
    def load(
        cls, root: Path, version: str | None, reuse: LexicalIndex | None = None
    ) -> LexicalIndex:
        """The index a manifest names (empty when there is none), sharing `reuse`'s segments."""
        path = root / f"manifest-{version}.json"
        if not version or not path.exists():
            return cls.empty()
        manifest = json.loads(path.read_text())
        known = {s.name: s for s in reuse.segments} if reuse else {}
        segments = [known.get(e["name"]) or Segment.open(root, e["name"]) for e in manifest]
        dead = [np.array(e["dead"], dtype=np.int64) for e in manifest]
        return cls(segments, dead, str(version))

    def _publish(self, root: Path, segments: list[Segment], dead: list[np.ndarray]) -> LexicalIndex:
        kept = [(s, d) for s, d in zip(segments, dead, strict=True) if len(d) < len(s)]
        version = uuid.uuid4().hex[:12]
        entries = [{"name": s.name, "dead": sorted(int(i) for i in d)} for s, d in kept]
        tmp = root / f".tmp-manifest-{version}"
        with tmp.open("w") as out:
            json.dump(entries, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, root / f"manifest-{version}.json")
        return LexicalIndex([s for s, _ in kept], [d for _, d in kept], version)

    def grow(
        self,
        root: Path,
        added: SegmentBuilder | Iterable[StoredChunk],
        dropped: Collection[str],
    ) -> LexicalIndex:
        """A new version: `dropped` chunk ids tombstoned, then `added` chunks as a new segment
        (a chunk id in both is replaced). Writes files; the caller points the catalog at it."""
        root.mkdir(parents=True, exist_ok=True)
        if not isinstance(added, SegmentBuilder):
            builder = SegmentBuilder()
            for chunk in added:
                builder.add(chunk)
            added = builder
        dead = list(self.dead)
        if dropped:
            wanted = np.array(sorted(dropped))
            for n, seg in enumerate(self.segments):
                hit = np.flatnonzero(np.isin(np.asarray(seg.ids), wanted))
                if len(hit):
                    dead[n] = np.union1d(dead[n], hit)
        segments = list(self.segments)
        name = added.write(root)
        if name is not None:
            segments.append(Segment.open(root, name))
            dead.append(np.zeros(0, dtype=np.int64))
        return self._publish(root, segments, dead)

    def compact(self, root: Path, everything: bool = False) -> LexicalIndex:
        """Merge the segments of a size class that holds `FANOUT` or more (all segments when
        `everything`); self when there is nothing to merge."""
        classes: dict[int, list[int]] = {}
        for n, mask in enumerate(self.alive):
            classes.setdefault(_size_class(int(mask.sum())), []).append(n)
        if everything:
            picked = list(range(len(self.segments))) if len(self.segments) > 1 else []
        else:
            picked = next((ns for _, ns in sorted(classes.items()) if len(ns) >= FANOUT), [])
        if not picked:
            return self
        name = merge(root, [(self.segments[n], self.alive[n]) for n in picked])
        rest = [n for n in range(len(self.segments)) if n not in picked]
        segments = [self.segments[n] for n in rest]
        dead = [self.dead[n] for n in rest]
        if name is not None:
            segments.append(Segment.open(root, name))
            dead.append(np.zeros(0, dtype=np.int64))
        merged = self._publish(root, segments, dead)
        return merged if everything else merged.compact(root)

    @staticmethod
    def prune(root: Path, keep: Collection[str]) -> None:
        """Remove manifests but `keep`, segments they do not name, and leftovers of a killed
        writer. Run by the ingest lock's holder; keep the previous version for readers that
        have not switched yet."""
        if not root.is_dir():
            return
        named: set[str] = set()
        for version in keep:
            path = root / f"manifest-{version}.json"
            if path.exists():
                named.update(e["name"] for e in json.loads(path.read_text()))
        for item in root.iterdir():
            stem = item.name.removesuffix(".json").removeprefix("manifest-")
            if item.name.startswith("manifest-") and stem in keep:
                continue
            if item.name in named:
                continue
            if item.is_dir():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)

    # -- reading -----------------------------------------------------------------------------

    def live_ids(self) -> list[str]:
        return [str(i) for i in self.chunk_ids[self.live]]

    def in_range(
        self, date_from: int | None, date_to: int | None, undated: bool = False
    ) -> np.ndarray:
        """Which chunks a date range keeps: undated chunks only when `undated` (a bound by the
        moment asked, not a range); tombstoned chunks never."""
        if date_from is None and date_to is None:
            return self.live
        return self._keeps(self.dates, self.live, date_from, date_to, undated)

    @staticmethod
    def _keeps(
        dates: np.ndarray, live: np.ndarray, lo: int | None, hi: int | None, undated: bool
    ) -> np.ndarray:
        lo, hi = lo or 0, hi or 99991231
        dated = (dates >= lo) & (dates <= hi) & (dates > 0)
        return (dated | (dates == 0) if undated else dated) & live

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 of every chunk (0 for tombstoned ones); a repeated query word counts again,
        as in bm25s."""
        scores = np.zeros(len(self.chunk_ids), dtype=np.float32)
        for term, times in Counter(terms).items():
            found = []
            df = 0
            for n, seg in enumerate(self.segments):
                hit = seg.postings(term)
                if hit is None:
                    continue
                docs, tfs = hit
                if len(self.dead[n]):
                    keep = self.alive[n][docs]
                    docs, tfs = docs[keep], tfs[keep]
                df += len(docs)
                found.append((n, docs, tfs))
            if not df:
                continue
            idf = math.log(1 + (self.n_live - df + 0.5) / (df + 0.5))
            weight = np.float32(times * idf)
            for n, docs, tfs in found:
                tf = tfs.astype(np.float32)
                scores[self.offsets[n] + docs] += weight * tf / (self.norms[n][docs] + tf)
        return scores

    def search(
        self,
        query: str,
        k: int,
        date_from: int | None = None,
        date_to: int | None = None,
        undated: bool = False,
    ) -> list[tuple[str, float]]:
        terms = tokenize(query)
        if not self.n_live or not terms or k <= 0:
            return []
        scores = self.scores(terms)
        # only chunks that hold a query word can rank: the date range and the cut look at
        # those, not at every chunk of the index (a million at archive scale)
        found = np.flatnonzero(scores > 0)
        if date_from is not None or date_to is not None:
            keep = self._keeps(self.dates[found], self.live[found], date_from, date_to, undated)
            found = found[keep]
        if len(found) > k:
            # every chunk tied with the k-th best, so which of them make the cut does not hang
            # on where they sit in this index's arrays (a rebuilt index holds them elsewhere)
            values = scores[found]
            kth = np.partition(-values, k - 1)[k - 1]
            found = found[-values <= kth]
        ranked = sorted(
            (int(d) for d in found),  # best; ties: newest, then by chunk id
            key=lambda d: (-float(scores[d]), -int(self.dates[d]), str(self.chunk_ids[d])),
        )
        return [(str(self.chunk_ids[d]), float(scores[d])) for d in ranked[:k]]
