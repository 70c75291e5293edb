"""The article catalog (clean text, date, chunk count) and index state, in one SQL database.

It lives beside LangChain's record manager (same database): SQLite in the index folder by
default, or any SQLAlchemy URL (`QA_RECORD_DB_URL`) when several replicas share one index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from qa.types import Article

metadata = MetaData()
articles = Table(
    "qa_articles",
    metadata,
    Column("source", String(1024), primary_key=True),
    Column("title", Text, nullable=True),
    Column("date", Date, nullable=True, index=True),  # the newest date: read by every question
    Column("text", Text, nullable=False),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("chunk_count", Integer, nullable=False),
    Column("url", Text, nullable=True),
    Column("author", Text, nullable=True),
)
state = Table(
    "qa_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


@dataclass(frozen=True)
class ArticleRow:
    source: str
    title: str | None
    date: date | None
    content_hash: str
    chunk_count: int
    url: str | None = None
    author: str | None = None


ROW_COLUMNS = tuple(articles.c[name] for name in ArticleRow.__dataclass_fields__)


def make_engine(url: str) -> Engine:
    engine = create_engine(url)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    metadata.create_all(engine)
    have = {c["name"] for c in inspect(engine).get_columns("qa_articles")}
    for name in ("url", "author"):  # a catalog made before articles had them
        if name not in have:
            with engine.begin() as conn:
                conn.execute(sql_text(f"ALTER TABLE qa_articles ADD COLUMN {name} TEXT"))
    # a catalog made before the date index: max(date) scanned every row (17 ms at 75k articles)
    with engine.begin() as conn:
        conn.execute(
            sql_text("CREATE INDEX IF NOT EXISTS ix_qa_articles_date ON qa_articles (date)")
        )
    if url.startswith("sqlite") and not has_statistics(engine):
        refresh_statistics(engine)  # an index written before they were kept
    return engine


def has_statistics(engine: Engine) -> bool:
    """Whether SQLite keeps planner statistics of the record manager's table (or it has none)."""
    with engine.connect() as conn:
        tables = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master")}
        if "upsertion_record" not in tables:
            return True  # nothing to plan yet
        if "sqlite_stat1" not in tables:
            return False
        query = "SELECT 1 FROM sqlite_stat1 WHERE tbl = 'upsertion_record'"
        return conn.exec_driver_sql(query).first() is not None


def refresh_statistics(engine: Engine) -> None:
    """SQLite's planner statistics, sampled (ANALYZE with analysis_limit: 0.5 s at 1M chunks).
    Without them SQLite looks up an article's records through the `namespace` index (one value
    for every row) instead of `group_id`: 0.2 s per deleted article at 1M chunks. PostgreSQL
    keeps its own (autovacuum)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=400")
        conn.exec_driver_sql("ANALYZE")


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def rows(self) -> dict[str, ArticleRow]:
        with self.engine.connect() as conn:
            return {r.source: ArticleRow(*r) for r in conn.execute(select(*ROW_COLUMNS))}

    def text(self, source: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(articles.c.text).where(articles.c.source == source)
            ).scalar_one_or_none()

    def put(self, article: Article, chunk_count: int) -> None:
        values = {
            "source": article.source,
            "title": article.title,
            "date": article.date,
            "text": article.text,
            "content_hash": article.content_hash,
            "chunk_count": chunk_count,
            "url": article.url,
            "author": article.author,
        }
        with self.engine.begin() as conn:
            conn.execute(delete(articles).where(articles.c.source == article.source))
            conn.execute(articles.insert().values(**values))

    def remove(self, source: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(articles).where(articles.c.source == source))

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(articles))
            conn.execute(delete(state))

    def newest(self, n: int) -> list[ArticleRow]:
        """The `n` newest articles (undated ones last, then by source, descending): what
        `rows()` sorted would give, without reading every row (1.8 s at 149k articles)."""
        order = [articles.c.date.is_(None), articles.c.date.desc(), articles.c.source.desc()]
        query = select(*ROW_COLUMNS).order_by(*order).limit(n)
        with self.engine.connect() as conn:
            return [ArticleRow(*r) for r in conn.execute(query)]

    def last_date(self) -> date | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(articles.c.date))).scalar_one_or_none()
        return value if isinstance(value, date) else None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(articles)).scalar_one())

    def get_state(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(state.c.value).where(state.c.key == key)
            ).scalar_one_or_none()

    def set_state(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                stmt = sqlite_insert(state).values(key=key, value=value)
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
                )
            else:
                conn.execute(delete(state).where(state.c.key == key))
                conn.execute(state.insert().values(key=key, value=value))
