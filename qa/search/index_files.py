"""What an index folder holds, read from its files alone: whether there is an index at all, and
its statistics. No model, no Chroma client, no LangChain, so that `qa stats` and every command's
"is there an index?" check answer at once and create nothing."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings
from qa.errors import IndexStateError

SQLITE = "sqlite:///"
MODEL_KEY = "embedding_model"  # catalog state: the model the index was built with


@dataclass(frozen=True)
class Stats:
    articles: int
    chunks: int
    undated: int
    first_date: str | None
    last_date: str | None
    index_bytes: int
    embedding_model: str


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def catalog_file(settings: Settings) -> Path | None:
    """The SQLite file of the record manager and catalog; None for a database server."""
    url = settings.db_url
    if not url.startswith(SQLITE):
        return None
    return Path(url[len(SQLITE) :].split("?", 1)[0])


def has_index(settings: Settings) -> bool:
    """Whether `qa ingest` has built an index here (a database server: assumed, it is shared)."""
    path = catalog_file(settings)
    return path is None or path.is_file()


def require_index(settings: Settings) -> None:
    """Refuse, before anything is created, to open an index that was never built."""
    if not has_index(settings):
        raise IndexStateError(f"no index at {settings.index_dir}: run `qa ingest` first")


def read_stats(settings: Settings) -> Stats | None:
    """Articles, chunks, dates and size from the catalog file; None when it cannot be read
    that way (a database server, an older catalog): then the index must be opened."""
    path = catalog_file(settings)
    if path is None or not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            articles, chunks, undated, first, last = db.execute(
                "SELECT count(*), coalesce(sum(chunk_count), 0), "
                "coalesce(sum(date IS NULL), 0), min(date), max(date) FROM qa_articles"
            ).fetchone()
            model = db.execute("SELECT value FROM qa_state WHERE key = ?", (MODEL_KEY,)).fetchone()
    except sqlite3.Error:
        return None
    if model is None and articles:
        return None  # built before the catalog recorded its model: ask the index itself
    return Stats(
        articles=int(articles),
        chunks=int(chunks),
        undated=int(undated),
        first_date=first,
        last_date=last,
        index_bytes=folder_bytes(settings.index_dir),
        embedding_model=model[0] if model else settings.embedding_model,
    )
