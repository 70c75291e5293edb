"""qa/search/catalog.py: the article catalog and index state in SQL (SQLite here)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from qa.search.catalog import Catalog, make_engine
from qa.types import Article


def _catalog(tmp_path: Path) -> Catalog:
    return Catalog(make_engine(f"sqlite:///{tmp_path / 'records.sqlite'}"))


def test_put_replace_remove_and_the_newest_date(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    catalog.put(Article("a.txt", "Old text.", date(2023, 8, 6), "A"), 2)
    catalog.put(Article("b.txt", "Undated text.", None), 1)
    catalog.put(Article("a.txt", "New text.", date(2023, 11, 10), "A2"), 3)  # replaces
    rows = catalog.rows()
    assert sorted(rows) == ["a.txt", "b.txt"] and catalog.count() == 2
    assert (rows["a.txt"].title, rows["a.txt"].date, rows["a.txt"].chunk_count) == (
        "A2",
        date(2023, 11, 10),
        3,
    )
    assert rows["b.txt"].date is None  # unknown stays unknown
    assert catalog.text("a.txt") == "New text."
    assert catalog.last_date() == date(2023, 11, 10)
    catalog.remove("a.txt")
    assert catalog.text("a.txt") is None and catalog.last_date() is None


def test_newest_articles_come_in_the_order_of_all_rows_sorted(tmp_path: Path) -> None:
    """Newest first, ties by source (descending), undated ones last: `newest(n)` reads n rows
    where the suggestions once sorted every row of the catalog."""
    catalog = _catalog(tmp_path)
    days = [date(2023, 5, 1), None, date(2023, 8, 6), date(2023, 5, 1), None, date(2022, 1, 9)]
    for n, day in enumerate(days):
        catalog.put(Article(f"{n:02d}.txt", f"Text {n}.", day), 1)
    everything = sorted(
        catalog.rows().values(),
        key=lambda r: (r.date is not None, r.date or date.min, r.source),
        reverse=True,
    )
    assert [r.source for r in everything] == ["02.txt", "03.txt", "00.txt", "05.txt", "04.txt",
                                              "01.txt"]  # fmt: skip
    for n in (1, 3, 6, 10):
        assert catalog.newest(n) == everything[:n]


def test_state_survives_a_new_connection(tmp_path: Path) -> None:
    _catalog(tmp_path).set_state("bm25_version", "v1")
    again = _catalog(tmp_path)
    assert again.get_state("bm25_version") == "v1"
    assert again.get_state("missing") is None
    again.clear()
    assert again.count() == 0


def test_a_catalog_made_before_urls_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "records.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE qa_articles (source VARCHAR(1024) PRIMARY KEY, title TEXT, date DATE,"
            " text TEXT NOT NULL, content_hash VARCHAR(64) NOT NULL, chunk_count INTEGER NOT NULL)"
        )
        old.execute("INSERT INTO qa_articles VALUES ('old.txt', NULL, NULL, 'Old.', 'h', 1)")
    catalog = Catalog(make_engine(f"sqlite:///{path}"))
    assert catalog.rows()["old.txt"].url is None
    catalog.put(Article("new.txt", "New.", None, url="https://news.example/new", author="A. B."), 1)
    assert catalog.rows()["new.txt"].url == "https://news.example/new"
    assert catalog.rows()["new.txt"].author == "A. B."


def test_the_newest_date_is_read_through_an_index_also_in_an_older_catalog(
    tmp_path: Path,
) -> None:
    """Every question reads the newest date: a full scan of the articles grew with the archive
    (17 ms at 75k articles), so the column is indexed, and a catalog made before gets it."""
    import sqlite3

    path = tmp_path / "records.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE qa_articles (source VARCHAR(1024) PRIMARY KEY, title TEXT, date DATE,"
            " text TEXT NOT NULL, content_hash VARCHAR(64) NOT NULL, chunk_count INTEGER NOT NULL)"
        )
        old.execute(
            "INSERT INTO qa_articles VALUES ('old.txt', NULL, '2023-08-06', 'Old.', 'h', 1)"
        )
    catalog = Catalog(make_engine(f"sqlite:///{path}"))
    assert catalog.last_date() == date(2023, 8, 6)
    with sqlite3.connect(path) as db:
        plan = " ".join(
            str(row) for row in db.execute("EXPLAIN QUERY PLAN SELECT max(date) FROM qa_articles")
        )
    assert "ix_qa_articles_date" in plan, plan
