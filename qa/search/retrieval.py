"""Hybrid, date-aware retrieval: dense (Chroma) + BM25, fused by reciprocal rank fusion."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, MutableMapping
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from qa.config import Settings
from qa.injection import flag_spans
from qa.search.dates import DateFilter
from qa.search.embedding import Embedder
from qa.search.index import SearchIndex
from qa.types import Passage, StoredChunk

if TYPE_CHECKING:
    pass

Mode = Literal["hybrid", "dense", "lexical"]
K = TypeVar("K", bound=Hashable)


def rrf_vote(fused: MutableMapping[K, float], ranking: Iterable[K], k: int) -> None:
    """Reciprocal rank fusion, one ranking's vote: each item gains 1 / (k + its rank, from 1)."""
    for rank, item in enumerate(ranking, start=1):
        fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)


def passage_from_stored(
    chunk: StoredChunk, score: float, dense: float | None, lexical: float | None
) -> Passage:
    """The passage of a chunk read from the store, with its search scores."""
    meta = chunk.meta
    return Passage(
        chunk_id=chunk.chunk_id,
        source=meta.source,
        text=chunk.text,
        start=meta.start,
        end=meta.end,
        date=meta.date,
        title=meta.title,
        score=score,
        dense=dense,
        lexical=lexical,
        # indexes built before the flags existed: flag now, the same way ingest does
        flagged=meta.flagged if meta.flagged is not None else flag_spans(chunk.text),
        url=meta.url,
    )


def _as_int(day: date | None) -> int | None:
    return int(day.strftime("%Y%m%d")) if day else None


def _inside(value: object, lo: int | None, hi: int | None, undated: bool = False) -> bool:
    if not isinstance(value, int) or value <= 0:
        return undated
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def date_where(date_from: date | None, date_to: date | None) -> dict[str, Any] | None:
    """Chroma filter; chunks without a date have no `date_int` and never match a range."""
    clauses: list[dict[str, Any]] = []
    if date_from:
        clauses.append({"date_int": {"$gte": _as_int(date_from)}})
    if date_to:
        clauses.append({"date_int": {"$lte": _as_int(date_to)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class Retriever:
    """Dense + BM25 candidates fused by RRF, capped per article, inside a date range.

    Chroma's `where` on a date range costs 10x the plain search at 10k chunks and 100-300x at
    100k (bench/date_filter.py), so the range is resolved here from the chunk dates the BM25
    index keeps in memory: a range holding at least `filter_in_code_from` of the chunks
    filters an over-fetched plain search (used only when it holds `candidates` chunks in
    range, or the whole index, so its result is the exact filter's); a range of at most
    `exact_up_to` chunks is ranked by exact cosine over their stored vectors (Chroma's HNSW
    search among a few ids walks most of the graph: 58 ms for 34 ids at 87.5k chunks, 3 ms
    exact); otherwise Chroma searches among the in-range chunk ids. `where` is left for an
    index without BM25 state or a range of more than `ids_up_to` chunks.
    """

    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder,
        candidates: int = 40,
        rrf_k: int = 60,
        per_source: int = 2,
        filter_in_code_from: float = 0.3,
        max_overfetch: int = 500,
        ids_up_to: int = 50_000,
        exact_up_to: int = 500,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.per_source = per_source
        self.filter_in_code_from = filter_in_code_from  # share of chunks inside the range
        self.max_overfetch = max_overfetch
        self.ids_up_to = ids_up_to  # longest list of in-range ids handed to Chroma
        self.exact_up_to = exact_up_to  # ranges this small are ranked exactly, in numpy

    @classmethod
    def from_settings(
        cls,
        index: SearchIndex,
        embedder: Embedder,
        settings: Settings,
        per_source: int | None = None,
    ) -> Retriever:
        """The retriever as `settings` tune it (`per_source`: QA_MAX_CHUNKS_PER_SOURCE)."""
        stage = settings.retrieval
        return cls(
            index,
            embedder,
            settings.candidates,
            settings.rrf_k,
            per_source or settings.max_chunks_per_source,
            filter_in_code_from=stage.filter_in_code_from,
            max_overfetch=stage.max_overfetch,
            ids_up_to=stage.ids_up_to,
            exact_up_to=stage.exact_up_to,
        )

    def bounds(self, dates: DateFilter) -> tuple[int | None, int | None, bool]:
        """The filter as YYYYMMDD bounds and whether undated chunks pass: `as_of` bounds dated
        chunks only, and costs nothing when no indexed chunk is newer than it."""
        lo, hi, undated = _as_int(dates.date_from), _as_int(dates.newest), dates.keeps_undated
        if undated and hi is not None:
            known = self.index.lexical().dates
            if not len(known) or hi >= int(known.max()):
                hi = None
        return lo, hi, undated

    def dense(
        self,
        vector: list[float],
        dates: DateFilter,
        bounds: tuple[int | None, int | None, bool] | None = None,
    ) -> list[StoredChunk]:
        """The `candidates` nearest chunks inside the date range (`bounds`: `self.bounds`)."""
        lo, hi, undated = bounds or self.bounds(dates)
        store = self.index.store
        if lo is None and hi is None:
            return store.search(vector, self.candidates)
        # the last resort below cannot say "or undated" to Chroma: it drops undated chunks
        where = date_where(dates.date_from, dates.newest)
        lexical = self.index.lexical()  # every chunk's date, in memory
        inside = lexical.in_range(lo, hi, undated)
        count, total = int(inside.sum()), len(inside)
        share = count / total if total else 1.0
        fetch = min(self.max_overfetch, math.ceil(self.candidates / max(share, 1e-9) * 1.5))
        if share >= self.filter_in_code_from and fetch > self.candidates:
            hits = store.search(vector, fetch)
            kept = [h for h in hits if _inside(h.metadata.get("date_int"), lo, hi, undated)]
            if len(kept) >= self.candidates or len(hits) < fetch:  # exact: enough, or all
                return kept[: self.candidates]
        if total and count <= self.ids_up_to:
            ids = [str(lexical.chunk_ids[i]) for i in np.flatnonzero(inside)]
            if count <= self.exact_up_to:
                return store.nearest_among(vector, ids, self.candidates)
            return store.search(vector, self.candidates, ids=ids)
        return store.search(vector, self.candidates, where)

    def search(
        self,
        question: str,
        top_k: int,
        dates: DateFilter = DateFilter(),
        mode: Mode = "hybrid",
    ) -> list[Passage]:
        """The `top_k` best passages, at most `per_source` per article."""
        found: dict[str, StoredChunk] = {}
        dense: dict[str, float] = {}
        lexical: dict[str, float] = {}
        rankings: list[list[str]] = []
        lo, hi, undated = bounds = self.bounds(dates)
        if mode in ("hybrid", "dense"):
            hits = self.dense(self.embedder.embed_query(question), dates, bounds)
            for hit in hits:
                found[hit.chunk_id] = hit
                dense[hit.chunk_id] = hit.similarity
            rankings.append([h.chunk_id for h in hits])
        if mode in ("hybrid", "lexical"):
            ranked = self.index.lexical().search(question, self.candidates, lo, hi, undated)
            lexical = dict(ranked)
            missing = [cid for cid, _ in ranked if cid not in found]
            for chunk in self.index.store.get(ids=missing) if missing else []:
                found[chunk.chunk_id] = chunk
            rankings.append([cid for cid, _ in ranked if cid in found])
        fused: dict[str, float] = {}
        for ranking in rankings:
            rrf_vote(fused, ranking, self.rrf_k)
        order = self._capped(sorted(fused, key=lambda c: (-fused[c], c)), found)
        if dates.recency:
            order = self._newest_first(order, found, fused)
        if dates.prefer:
            order = self._preferred(order, found, fused, dates.prefer)
        return [
            passage_from_stored(found[cid], fused[cid], dense.get(cid), lexical.get(cid))
            for cid in order[:top_k]
        ]

    def _capped(self, order: list[str], found: dict[str, StoredChunk]) -> list[str]:
        """At most `per_source` chunks of each article, so one article cannot crowd out others."""
        per_article: dict[str, int] = defaultdict(int)
        kept = []
        for cid in order:
            source = found[cid].meta.source
            if per_article[source] < self.per_source:
                per_article[source] += 1
                kept.append(cid)
        return kept

    def _preferred(
        self,
        order: list[str],
        found: dict[str, StoredChunk],
        fused: dict[str, float],
        window: tuple[date, date],
    ) -> list[str]:
        """Chunks dated inside the preferred window ("this week", "on Monday") get one more RRF
        vote, in their relevance order: a preference, so nothing outside it is dropped."""
        lo, hi = _as_int(window[0]), _as_int(window[1])
        inside = [cid for cid in order if _inside(found[cid].meta.date_int, lo, hi)]
        rrf_vote(fused, inside, self.rrf_k)
        return sorted(order, key=lambda c: (-fused[c], c))

    def _newest_first(
        self, order: list[str], found: dict[str, StoredChunk], fused: dict[str, float]
    ) -> list[str]:
        """Dated chunks re-ranked with a newest-first RRF vote, inside the slots dated chunks
        held; undated chunks keep their relevance rank, so recency alone never drops them."""
        day = {cid: found[cid].meta.date_int for cid in order}
        dated = [cid for cid in order if day[cid]]
        newest = sorted(dated, key=lambda cid: -(day[cid] or 0))
        rrf_vote(fused, newest[: self.candidates // 2], self.rrf_k)
        boosted = iter(sorted(dated, key=lambda c: (-fused[c], c)))
        is_dated = set(dated)
        return [next(boosted) if cid in is_dated else cid for cid in order]


def __getattr__(name: str) -> Any:
    """`NewsRetriever`, the LangChain face, imported on first use: `qa ask` and the service do
    not load LangChain's retriever classes (about 2 s of imports without compiled bytecode)."""
    if name == "NewsRetriever":
        from qa.search.lc_retriever import NewsRetriever

        return NewsRetriever
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
