"""Idempotent ingest with the real model and embedded Chroma, uploads, reset, and BM25."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from qa.errors import IndexStateError, InputError
from qa.ingest.chunking import chunk_article
from qa.ingest.corpus import read_paths
from qa.ingest.index import Index
from qa.ingest.report import describe
from qa.ingest.reset import reset_index
from tests.conftest import HashEmbedder, make_settings

pytestmark = pytest.mark.slow

S000 = "000_cd0023486d4bb650.txt"
S001 = "001_82e9ea03b5c9249c.txt"
S002 = "002_e3a0ee1edd778f3c.txt"
S003 = "003_dc7ce24594d87c5a.txt"
S004 = "004_4d4a022be80d252f.txt"
SEEDS = [S000, S001, S002, S003, S004]


def _ids_by_source(index: Index) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for chunk in index.store.iter_all():
        assert chunk.chunk_id == chunk.metadata["chunk_id"]
        found[chunk.metadata["source"]].add(chunk.chunk_id)
    return dict(found)


def _expected_ids(index: Index, source: str) -> set[str]:
    """The chunk ids the current file of `source` should have in the store."""
    settings = index.settings
    (article,) = read_paths([settings.corpus_dir / source], settings.corpus_dir).articles
    chunks = chunk_article(
        article,
        settings.chunk_tokens,
        settings.chunk_overlap,
        index.embedder.max_tokens,
        index.embedder.count_tokens,
    )
    return {c.chunk_id for c in chunks}


def _assert_consistent(index: Index) -> None:
    """Store, record manager, catalog and BM25 agree on which chunks exist."""
    ids = _ids_by_source(index)
    all_ids = set().union(*ids.values()) if ids else set()
    rows = index.catalog.rows()
    assert set(ids) == set(rows)
    assert {s: len(v) for s, v in ids.items()} == {s: r.chunk_count for s, r in rows.items()}
    assert set(index.records.list_keys()) == all_ids
    assert set(index.lexical().live_ids()) == all_ids


@pytest.fixture
def built(tmp_path: Path, seed_index: Index, real_embedder: Any) -> Index:
    """A private copy of the shared seed index (corpus and index folders), free to change.

    Copying the files is much faster than embedding the seeds again for every test.
    """
    shared = seed_index.settings.index_dir.parent
    shutil.copytree(shared / "corpus", tmp_path / "corpus")
    shutil.copytree(shared / "index", tmp_path / "index", ignore=shutil.ignore_patterns("*.lock"))
    return Index(make_settings(tmp_path), real_embedder)


def test_messy_first_ingest_indexes_the_rest(tmp_path: Path, real_embedder: Any) -> None:
    """Bad files (non-UTF-8, empty, binary) and a duplicate are reported; the rest is indexed."""
    settings = make_settings(tmp_path)
    corpus = settings.corpus_dir
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    latin = " date 2023-11-12 Le café de Niamey a rouvert ses portes après le coup d'État."
    (corpus / "latin.txt").write_bytes(latin.encode("latin-1"))
    shutil.copy(corpus / S003, corpus / "zz_copy_of_003.txt")
    counter = real_embedder.embedded
    index = Index(settings, real_embedder)
    report = index.ingest()

    assert sorted(report.added) == sorted([*SEEDS, "latin.txt"])
    assert (report.updated, report.unchanged, report.deleted) == ([], [], [])
    assert report.duplicates == [("zz_copy_of_003.txt", S003)]
    problems = {p["source"]: p for p in describe(report)["problems"]}
    undated = {s for s, p in problems.items() if p["message"].startswith("no date found")}
    assert undated == {S003, "zz_copy_of_003.txt"}  # indexed, reported as date unknown
    assert set(problems) - undated == {"empty.txt", "image.txt", "latin.txt"}
    assert problems["empty.txt"]["skipped"] and "empty" in problems["empty.txt"]["message"]
    assert problems["image.txt"]["skipped"] and "binary" in problems["image.txt"]["message"]
    assert not problems["latin.txt"]["skipped"] and "UTF-8" in problems["latin.txt"]["message"]

    ids = _ids_by_source(index)
    assert set(ids) == {*SEEDS, "latin.txt"}
    for source in SEEDS:
        assert ids[source] == _expected_ids(index, source)
    assert report.chunks_added == index.store.count() == report.embedded > 5
    assert real_embedder.embedded - counter == report.embedded
    (chunk,) = index.store.get(where={"source": "latin.txt"})
    assert chunk.metadata["date_int"] == 20231112
    assert "Niamey" in chunk.text
    _assert_consistent(index)

    stats = index.stats()
    assert (stats.articles, stats.chunks, stats.undated) == (6, report.chunks_added, 1)
    assert (stats.first_date, stats.last_date) == ("2023-08-06", "2023-11-12")
    assert stats.embedding_model == "all-MiniLM-L6-v2"
    assert stats.index_bytes > 0


def test_second_ingest_adds_and_embeds_nothing(built: Index, real_embedder: Any) -> None:
    index = built
    chunks = index.store.count()
    before = _ids_by_source(index)
    counter = real_embedder.embedded
    again = index.ingest()
    assert sorted(again.unchanged) == SEEDS
    assert (again.added, again.updated, again.deleted, again.duplicates) == ([], [], [], [])
    assert (again.chunks_added, again.chunks_deleted, again.embedded) == (0, 0, 0)
    assert real_embedder.embedded == counter
    assert describe(again)["skipped"] == 5

    # a new process (new Index over the same folder) sees the same index and embeds nothing
    reopened = Index(index.settings, real_embedder)
    third = reopened.ingest()
    assert (len(third.unchanged), third.embedded, real_embedder.embedded) == (5, 0, counter)
    assert _ids_by_source(reopened) == before
    assert reopened.store.count() == chunks


def test_editing_one_file_reembeds_only_its_changed_chunks(
    built: Index, real_embedder: Any
) -> None:
    index = built
    before = _ids_by_source(index)
    path = index.settings.corpus_dir / S002
    path.write_text(
        path.read_text(encoding="utf-8") + "\nThe junta reopened the airspace a week later.\n",
        encoding="utf-8",
    )
    counter = real_embedder.embedded
    report = index.ingest()
    after = _ids_by_source(index)

    assert report.updated == [S002]
    assert sorted(report.unchanged) == sorted(set(SEEDS) - {S002})
    assert report.added == [] and report.deleted == []
    assert 1 <= report.embedded < len(after[S002])  # unchanged chunks of 002 are not embedded
    assert real_embedder.embedded - counter == report.embedded
    assert after[S002] == _expected_ids(index, S002)  # no stale chunk of the old text is left
    assert before[S002] - after[S002]  # ... and the changed one is gone
    for source in set(SEEDS) - {S002}:
        assert after[source] == before[source]
    row, text = index.article(S002)
    assert text.endswith("The junta reopened the airspace a week later.")
    assert row.chunk_count == len(after[S002])
    _assert_consistent(index)


def test_ingesting_only_named_files_leaves_the_others(built: Index, real_embedder: Any) -> None:
    index = built
    before = _ids_by_source(index)
    corpus = index.settings.corpus_dir
    (corpus / S004).write_text(
        (corpus / S004).read_text(encoding="utf-8").replace("new turn", "sharp turn"),
        encoding="utf-8",
    )
    (corpus / S001).unlink()  # not named: a partial ingest must not delete it
    report = index.ingest([corpus / S004])
    after = _ids_by_source(index)
    assert (report.updated, report.deleted, report.unchanged) == ([S004], [], [])
    assert 1 <= report.embedded <= len(after[S004])
    assert after[S004] == _expected_ids(index, S004) != before[S004]
    for source in set(SEEDS) - {S004}:
        assert after[source] == before[source]
    _assert_consistent(index)


def test_deleting_one_file_removes_only_its_chunks(built: Index, real_embedder: Any) -> None:
    index = built
    before = _ids_by_source(index)
    (index.settings.corpus_dir / S001).unlink()
    counter = real_embedder.embedded
    report = index.ingest()
    after = _ids_by_source(index)

    assert report.deleted == [S001]
    assert report.chunks_deleted == len(before[S001])
    assert report.embedded == 0 and real_embedder.embedded == counter
    assert index.store.get(where={"source": S001}) == []
    assert S001 not in index.catalog.rows()
    assert after == {s: ids for s, ids in before.items() if s != S001}
    assert not set(index.lexical().live_ids()) & before[S001]
    _assert_consistent(index)


def test_same_article_under_another_name_is_a_duplicate(built: Index, real_embedder: Any) -> None:
    index = built
    corpus = index.settings.corpus_dir
    before = _ids_by_source(index)
    shutil.copy(corpus / S000, corpus / "zz_copy_of_000.txt")
    counter = real_embedder.embedded
    report = index.ingest()
    assert report.duplicates == [("zz_copy_of_000.txt", S000)]
    assert report.added == [] and report.embedded == 0 == real_embedder.embedded - counter
    assert index.store.get(where={"source": "zz_copy_of_000.txt"}) == []
    assert _ids_by_source(index) == before
    assert describe(report)["duplicates"] == [{"source": "zz_copy_of_000.txt", "same_as": S000}]


def test_uploading_a_copy_under_another_name_is_a_duplicate(
    built: Index, real_embedder: Any
) -> None:
    """A partial ingest (upload, `qa ingest FILE`) still sees the articles outside its scope."""
    index = built
    before = _ids_by_source(index)
    counter = real_embedder.embedded
    report = index.add_files([("copy.txt", (index.settings.corpus_dir / S000).read_bytes())])
    assert report.duplicates == [("copy.txt", S000)]
    assert report.added == [] and report.deleted == []
    assert report.embedded == 0 == real_embedder.embedded - counter
    assert _ids_by_source(index) == before
    again = index.ingest()  # and the full ingest agrees
    assert again.duplicates == [("copy.txt", S000)] and again.embedded == 0
    _assert_consistent(index)


def test_copy_of_an_edited_article_keeps_the_old_text(built: Index, real_embedder: Any) -> None:
    index = built
    corpus = index.settings.corpus_dir
    old = (corpus / S000).read_text(encoding="utf-8")
    (corpus / "zz_old_000.txt").write_text(old, encoding="utf-8")
    (corpus / S000).write_text(old + "\nAg Boula later left for Paris.\n", encoding="utf-8")
    report = index.ingest()
    assert report.duplicates == []
    assert report.updated == [S000] and report.added == ["zz_old_000.txt"]
    ids = _ids_by_source(index)
    assert ids["zz_old_000.txt"] == _expected_ids(index, "zz_old_000.txt")
    assert ids[S000] == _expected_ids(index, S000)
    _assert_consistent(index)


def test_dump_records_are_indexed_and_removed_one_by_one(built: Index, real_embedder: Any) -> None:
    index = built
    dump = index.settings.corpus_dir / "wire.jsonl"
    records = [
        '{"id": "a", "date": "2023-11-12", "text": "Niamey markets reopened on Sunday."}',
        '{"id": "b", "date": "2023-11-13", "text": "The border with Benin stayed closed."}',
        '{"id": "c", "text": "Schools in Zinder resumed classes."}',
    ]
    dump.write_text("\n".join(records) + "\n", encoding="utf-8")
    first = index.ingest()
    assert first.added == ["wire.jsonl#a", "wire.jsonl#b", "wire.jsonl#c"]
    (chunk,) = index.store.get(where={"source": "wire.jsonl#b"})
    assert (chunk.text, chunk.metadata["date_int"]) == (
        "The border with Benin stayed closed.",
        20231113,
    )
    assert "date" not in index.store.get(where={"source": "wire.jsonl#c"})[0].metadata

    dump.write_text(records[0] + "\n" + records[2] + "\n", encoding="utf-8")
    counter = real_embedder.embedded
    second = index.ingest([dump])  # a partial ingest of the dump file covers all its records
    assert second.deleted == ["wire.jsonl#b"]
    assert sorted(second.unchanged) == ["wire.jsonl#a", "wire.jsonl#c"]
    assert second.embedded == 0 == real_embedder.embedded - counter
    assert index.store.get(where={"source": "wire.jsonl#b"}) == []
    assert set(_ids_by_source(index)) == {*SEEDS, "wire.jsonl#a", "wire.jsonl#c"}
    _assert_consistent(index)


def test_another_embedding_model_is_refused_until_reset(built: Index, real_embedder: Any) -> None:
    settings = built.settings

    with pytest.raises(IndexStateError) as caught:
        Index(settings, HashEmbedder())
    message = str(caught.value)
    assert "--reset" in message
    assert "all-MiniLM-L6-v2" in message and "hash-embedder" in message
    assert caught.value.status_code == 409

    reset_index(settings)
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == SEEDS  # corpus untouched
    fake = HashEmbedder()
    index = Index(settings, fake)
    report = index.ingest()
    assert sorted(report.added) == SEEDS  # the catalog was cleared too: nothing "unchanged"
    assert report.embedded == fake.embedded == index.store.count() > 0
    assert index.stats().embedding_model == "hash-embedder"
    assert index.lexical().search("Tchiani", 3)
    _assert_consistent(index)
    with pytest.raises(IndexStateError, match="--reset"):
        Index(settings, real_embedder)


def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


GOOD = b" date 2023-11-12 Title: Upload\n\nThe junta reopened the airspace on Sunday."


@pytest.mark.parametrize(
    ("name", "data", "word"),
    [
        ("../x.txt", GOOD, "plain file name"),
        ("sub/x.txt", GOOD, "plain file name"),
        ("/etc/x.txt", GOOD, "plain file name"),
        (".hidden.txt", GOOD, "plain file name"),
        ("x.exe", GOOD, "unsupported"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("empty.txt", b"", "empty"),
    ],
    ids=["traversal", "folder", "absolute", "hidden", "type", "binary", "empty"],
)
def test_add_files_rejects_bad_uploads_and_writes_nothing(
    tmp_path: Path, real_embedder: Any, name: str, data: bytes, word: str
) -> None:
    settings = make_settings(tmp_path)
    index = Index(settings, real_embedder)
    corpus_before = _listing(settings.corpus_dir)
    outside_before = _listing(tmp_path)
    counter = real_embedder.embedded

    with pytest.raises(InputError) as caught:
        index.add_files([("good.txt", GOOD), (name, data)])
    assert word in str(caught.value)
    assert caught.value.status_code == 400
    assert _listing(settings.corpus_dir) == corpus_before  # not even the good file
    assert _listing(tmp_path) == outside_before
    assert index.store.count() == 0 and index.catalog.count() == 0
    assert real_embedder.embedded == counter


def test_add_files_writes_and_indexes_a_good_upload(built: Index, real_embedder: Any) -> None:
    index = built
    before = _ids_by_source(index)
    report = index.add_files([("upload.txt", GOOD)])
    assert report.added == ["upload.txt"] and report.deleted == []
    assert (index.settings.corpus_dir / "upload.txt").read_bytes() == GOOD
    after = _ids_by_source(index)
    assert after.pop("upload.txt") == _expected_ids(index, "upload.txt")
    assert after == before
    row, text = index.article("upload.txt")
    assert (row.title, str(row.date)) == ("Upload", "2023-11-12")
    assert text == "The junta reopened the airspace on Sunday."
    assert index.lexical().search("reopened airspace", 1)[0][0] in _expected_ids(
        index, "upload.txt"
    )


# -- BM25 over the shared, read-only seed index ----------------------------------------------


def _sources(index: Index, hits: list[tuple[str, float]]) -> list[str]:
    by_id = {c.chunk_id: c.metadata["source"] for c in index.store.get(ids=[i for i, _ in hits])}
    return [by_id[i] for i, _ in hits]


def test_bm25_finds_a_seed_chunk_by_a_rare_word(seed_index: Index) -> None:
    hits = seed_index.lexical().search("Tchiani", 10)
    assert hits and all(score > 0 for _, score in hits)
    assert set(_sources(seed_index, hits)) == {S003}  # the only article naming him
    texts = {c.chunk_id: c.text for c in seed_index.store.get(ids=[i for i, _ in hits])}
    assert all("Tchiani" in texts[i] for i, _ in hits)
    assert seed_index.lexical().search("the of and", 10) == []  # stopwords only: no match


def test_bm25_honors_a_date_filter(seed_index: Index) -> None:
    lexical = seed_index.lexical()
    assert S003 in _sources(seed_index, lexical.search("Bazoum", 50))
    # 003 has no date: any date range excludes it
    assert lexical.search("Tchiani", 10, date_from=20230101, date_to=20231231) == []
    one_day = _sources(seed_index, lexical.search("Bazoum", 50, 20231110, 20231110))
    assert one_day and set(one_day) == {S000}
    from_11th = _sources(seed_index, lexical.search("Bazoum", 50, date_from=20231111))
    assert from_11th and set(from_11th) == {S002}
    until_aug = _sources(seed_index, lexical.search("Algeria", 50, date_to=20230831))
    assert until_aug and set(until_aug) == {S004}


def test_seed_index_stats(seed_index: Index) -> None:
    stats = seed_index.stats()
    assert (stats.articles, stats.undated) == (5, 1)
    assert (stats.first_date, stats.last_date) == ("2023-08-06", "2023-11-11")
    assert (
        stats.chunks
        == seed_index.store.count()
        == sum(r.chunk_count for r in seed_index.catalog.rows().values())
    )


def test_an_index_from_before_bm25_segments_is_upgraded_when_opened(
    built: Index, real_embedder: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An index written by the previous release (the catalog names a bm25s folder, no
    manifest) must not be served without BM25: it is rebuilt once from the stored chunks."""
    bm25 = built.settings.index_dir / "bm25"
    expected = built.lexical().search("Tchiani", 10)
    shutil.rmtree(bm25)
    (bm25 / "c03b2b894811").mkdir(parents=True)  # what the old format left
    built.catalog.set_state("bm25_version", "c03b2b894811")
    reopened = Index(make_settings(built.settings.corpus_dir.parent), real_embedder)
    with caplog.at_level("WARNING", logger="qa.ingest.index"):
        lexical = reopened.lexical()
    assert "older format" in caplog.text
    assert lexical.n_live == reopened.store.count() > 0
    assert lexical.search("Tchiani", 10) == expected
    assert reopened.catalog.get_state("bm25_version") == lexical.version != "c03b2b894811"


def test_a_manifest_pruned_while_reading_loads_the_newer_version(built: Index) -> None:
    """A replica that fell behind while an ingest published twice takes the newest version."""
    version = built.catalog.get_state("bm25_version")
    assert version
    found = built._missing_manifest("gone-meanwhile")
    assert found is not None and found.version == version


def _records_plan(path: Path) -> tuple[str, bool]:
    """The query plan of looking up one article's records, and whether SQLite has statistics
    of their table."""
    import sqlite3

    query = (
        "EXPLAIN QUERY PLAN SELECT key FROM upsertion_record "
        "WHERE namespace = 'chroma/news_qa' AND group_id IN ('001_a.txt')"
    )
    with sqlite3.connect(path) as db:
        plan = " ".join(str(row) for row in db.execute(query))
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        stats = (
            "sqlite_stat1" in tables
            and db.execute(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'upsertion_record'"
            ).fetchone()[0]
        )
    return plan, bool(stats)


def test_records_are_found_by_article_after_ingest_and_in_an_older_index(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """Deleting or replacing an article looks its chunks up by `group_id`. Without planner
    statistics SQLite may take the `namespace` index instead (every row shares it; which one
    it takes depends on the order the indexes were created: it took `namespace` at 1M chunks,
    0.2 s per deleted article): ingest and delete keep statistics, an index without gets them."""
    import sqlite3

    from qa.search.catalog import make_engine

    settings = make_settings(tmp_path)
    index = Index(settings, hash_embedder)
    index.ingest()
    path = settings.index_dir / "records.sqlite"
    assert _records_plan(path)[1]
    assert "ix_upsertion_record_group_id" in _records_plan(path)[0]
    index.delete(sorted(index.catalog.rows())[0])
    plan, stats = _records_plan(path)
    assert stats and "ix_upsertion_record_group_id" in plan

    with sqlite3.connect(path) as db:  # as an index written before statistics were kept
        db.execute("DROP TABLE sqlite_stat1")
    assert not _records_plan(path)[1]
    make_engine(settings.db_url).dispose()
    plan, stats = _records_plan(path)
    assert stats and "ix_upsertion_record_group_id" in plan
