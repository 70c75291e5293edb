"""What an ingest changes: the articles read, compared with the catalog, become those to
(re)index, the duplicates, the unchanged and the deleted (recorded in the report); those to
index are embedded in groups of about GROUP_CHUNKS chunks."""

from __future__ import annotations

from collections.abc import Iterable

from qa.ingest.report import IngestReport
from qa.search.catalog import ArticleRow
from qa.types import Article

GROUP_CHUNKS = 256  # chunks per index() call: one embedding batch series, one cleanup scope


def same(article: Article, row: ArticleRow) -> bool:
    return (row.content_hash, row.title, row.date, row.url, row.author) == (
        article.content_hash,
        article.title,
        article.date,
        article.url,
        article.author,
    )


def in_scope(source: str, scope: set[str] | None) -> bool:
    """Whether this ingest read `source` (None: the whole corpus; FILE#ID: its dump FILE)."""
    return scope is None or source in scope or source.split("#", 1)[0] in scope


def plan(
    found: list[Article], rows: dict[str, ArticleRow], scope: set[str] | None, report: IngestReport
) -> tuple[list[Article], list[str]]:
    """(articles to index, indexed sources gone); an article whose text another source already
    holds is a duplicate of it, one unchanged since it was catalogued is left as it is."""
    current = {a.source: a.content_hash for a in found}
    owner: dict[str, str] = {}  # content hash -> source that keeps it
    for source, row in sorted(rows.items()):
        # an indexed text keeps its owner if its file is unchanged, or outside this ingest
        unchanged = current.get(source) == row.content_hash
        if unchanged or (source not in current and not in_scope(source, scope)):
            owner.setdefault(row.content_hash, source)
    todo: list[Article] = []
    for article in found:
        keeper = owner.setdefault(article.content_hash, article.source)
        if keeper != article.source:
            report.duplicates.append((article.source, keeper))
        elif article.source in rows and same(article, rows[article.source]):
            report.unchanged.append(article.source)
        else:
            (report.updated if article.source in rows else report.added).append(article.source)
            todo.append(article)
    kept = {a.source for a in found} - {d for d, _ in report.duplicates}
    gone = sorted(s for s in rows if in_scope(s, scope) and s not in kept)
    report.deleted.extend(gone)
    return todo, gone


def groups(articles: list[Article]) -> Iterable[list[Article]]:
    group: list[Article] = []
    size = 0
    for article in articles:
        group.append(article)
        size += max(1, len(article.text) // 800)
        if size >= GROUP_CHUNKS:
            yield group
            group, size = [], 0
    if group:
        yield group
