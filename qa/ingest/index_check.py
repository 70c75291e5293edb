"""Check an index against its corpus (`qa verify`) and rebuild it from the files (`qa reindex`).

The articles are the source of truth; Chroma, the record manager, the catalog and BM25 are
derived from them and must agree with each other and with the corpus folder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from qa.config import Settings
from qa.ingest.corpus import read_paths
from qa.ingest.index import Index
from qa.ingest.report import IngestReport
from qa.search.embedding import Embedder, make_embedder
from qa.types import Article

SHOWN = 5  # ids listed per difference; the count says how many there are


def _some(ids: Iterable[str]) -> str:
    items = sorted(ids)
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _corpus_differences(index: Index, found: list[Article]) -> list[str]:
    """Every article (one per distinct text, as ingest keeps it) is in the catalog, unchanged."""
    rows = index.catalog.rows()
    problems: list[str] = []
    by_hash: dict[str, list[Article]] = {}
    for article in found:
        by_hash.setdefault(article.content_hash, []).append(article)
    for digest, same in by_hash.items():
        indexed = [a for a in same if a.source in rows]
        if not indexed:
            names = " / ".join(a.source for a in same)
            problems.append(f"article {names} is in the corpus but not in the catalog")
        elif len(indexed) > 1:
            names = ", ".join(a.source for a in indexed)
            problems.append(f"articles {names} have the same text but are all indexed")
        for article in indexed:
            row = rows[article.source]
            if row.content_hash != digest:
                problems.append(
                    f"article {article.source} changed on disk: catalog hash "
                    f"{row.content_hash[:12]}, file hash {digest[:12]}"
                )
            elif (row.title, row.date, row.url, row.author) != (
                article.title,
                article.date,
                article.url,
                article.author,
            ):
                problems.append(
                    f"article {article.source} has another title, date, URL or author on disk"
                )
    present = {a.source for a in found}
    stale = [s for s in rows if s not in present]
    if stale:
        problems.append(f"{len(stale)} catalog articles have no corpus file: {_some(stale)}")
    return problems


def _chunk_differences(index: Index) -> list[str]:
    """Chroma, the record manager and BM25 hold the same chunk ids, matching the catalog."""
    problems: list[str] = []
    rows = index.catalog.rows()
    per_source: Counter[str] = Counter()
    chroma: set[str] = set()
    for chunk in index.store.iter_all():
        chroma.add(chunk.chunk_id)
        per_source[chunk.meta.source] += 1
    records = index.records.list_keys()
    lexical = index.lexical().live_ids()
    for name, ids in (("record manager", records), ("BM25 state", lexical)):
        repeated = [i for i, n in Counter(ids).items() if n > 1]
        if repeated:
            problems.append(f"{len(repeated)} chunk ids repeat in the {name}: {_some(repeated)}")
        if missing := chroma - set(ids):
            problems.append(
                f"{len(missing)} Chroma chunks missing from the {name}: {_some(missing)}"
            )
        if extra := set(ids) - chroma:
            problems.append(f"{len(extra)} {name} chunk ids not in Chroma: {_some(extra)}")
    if orphans := set(per_source) - set(rows):
        problems.append(
            f"Chroma has chunks of {len(orphans)} uncataloged sources: {_some(orphans)}"
        )
    for source, row in sorted(rows.items()):
        if per_source[source] != row.chunk_count:
            problems.append(
                f"article {source}: catalog says {row.chunk_count} chunks, "
                f"Chroma has {per_source[source]}"
            )
    return problems


def verify_index(index: Index) -> list[str]:
    """Human-readable differences between the corpus folder and the index; empty when they agree."""
    folders = index.folders
    found = read_paths(folders.files(), folders).articles
    problems = _corpus_differences(index, found) + _chunk_differences(index)
    if index.catalog.get_state("dirty") == "1":
        problems.append("an ingest did not finish (dirty flag set); run `qa ingest` to repair")
    return problems


def reindex(
    settings: Settings, embedder: Embedder | None = None, wait: float = 60.0
) -> IngestReport:
    """Delete everything derived and ingest the corpus folder again, holding the ingest lock."""
    return Index(settings, embedder or make_embedder(settings)).rebuild(wait)
