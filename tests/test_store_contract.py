"""One store contract, run against embedded Chroma and a real Chroma server on loopback.

The server is the `chroma run` command of the installed chromadb package, started once per
session; each test gets its own collection there (and its own index folder for the records).
"""

from __future__ import annotations

import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.config import Settings
from qa.errors import IndexStateError
from qa.ingest.index import Index
from qa.ingest.reset import reset_index
from qa.search.store import ChunkStore
from tests.conftest import HashEmbedder, free_port, make_settings, running_process

UNDATED = "003_dc7ce24594d87c5a.txt"
DATES = {
    "000_cd0023486d4bb650.txt": 20231110,
    "001_82e9ea03b5c9249c.txt": 20231107,
    "002_e3a0ee1edd778f3c.txt": 20231111,
    "004_4d4a022be80d252f.txt": 20230806,
}
ALL = {*DATES, UNDATED}


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run` from the installed package) on a free loopback port."""
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chroma = Path(sys.executable).parent / "chroma"
    cmd = [str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1"]
    cmd += ["--port", str(port)]
    with running_process(cmd, data / "server.log", lambda: _heartbeat(url), timeout=60):
        yield url


SettingsFactory = Callable[..., Settings]

SERVER = pytest.param("server", marks=[pytest.mark.integration, pytest.mark.slow])


@pytest.fixture(params=["embedded", SERVER])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> SettingsFactory:
    """Settings over a copy of the seeds and a fresh index, in the parametrized store mode."""
    overrides: dict[str, Any] = {}
    if request.param == "server":
        overrides["chroma_url"] = request.getfixturevalue("chroma_server")
        overrides["collection"] = f"contract-{uuid.uuid4().hex[:12]}"

    def factory(**more: Any) -> Settings:
        return make_settings(tmp_path, **{**overrides, **more})

    return factory


def _ingested(make: SettingsFactory) -> tuple[Index, HashEmbedder]:
    embedder = HashEmbedder()
    index = Index(make(), embedder)
    index.ingest()
    return index, embedder


def _range(lo: int, hi: int) -> dict[str, Any]:
    return {"$and": [{"date_int": {"$gte": lo}}, {"date_int": {"$lte": hi}}]}


class TestStoreContract:
    def test_ingest_counts(self, make: SettingsFactory) -> None:
        index, embedder = _ingested(make)
        chunks = index.store.count()
        assert chunks > 5
        assert embedder.embedded == chunks
        assert index.catalog.count() == 5
        stats = index.stats()
        assert (stats.articles, stats.chunks, stats.undated) == (5, chunks, 1)
        assert (stats.first_date, stats.last_date) == ("2023-08-06", "2023-11-11")
        assert {c.metadata["source"] for c in index.store.iter_all(page=7)} == ALL

    def test_date_range_excludes_undated(self, make: SettingsFactory) -> None:
        index, embedder = _ingested(make)
        vector = embedder.embed_query("Niger junta Wagner coup")
        everything = index.store.search(vector, k=100)
        assert UNDATED in {c.metadata["source"] for c in everything}
        wide = index.store.search(vector, k=100, where=_range(19000101, 29991231))
        assert {c.metadata["source"] for c in wide} == set(DATES)
        narrow = index.store.search(vector, k=100, where=_range(20231107, 20231110))
        assert {c.metadata["source"] for c in narrow} == {
            "000_cd0023486d4bb650.txt",
            "001_82e9ea03b5c9249c.txt",
        }
        assert all(20231107 <= c.metadata["date_int"] <= 20231110 for c in narrow)
        sims = [c.similarity for c in narrow]
        assert sims == sorted(sims, reverse=True)

    def test_get_by_source_slices_clean_text(self, make: SettingsFactory) -> None:
        index, _ = _ingested(make)
        _, text = index.article(UNDATED)
        chunks = index.store.get(where={"source": UNDATED})
        assert chunks
        for chunk in chunks:
            assert text[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.text
            assert "date" not in chunk.metadata and "date_int" not in chunk.metadata
        by_id = index.store.get(ids=[chunks[0].chunk_id])
        assert [c.text for c in by_id] == [chunks[0].text]

    def test_delete_removes_only_that_article(self, make: SettingsFactory) -> None:
        index, _ = _ingested(make)
        before = index.store.count()
        mine = len(index.store.get(where={"source": UNDATED}))
        report = index.delete(UNDATED)
        assert report.chunks_deleted == mine
        assert index.store.count() == before - mine
        assert index.store.get(where={"source": UNDATED}) == []
        assert UNDATED not in index.catalog.rows()
        assert not (index.settings.corpus_dir / UNDATED).exists()
        assert UNDATED not in {c.metadata["source"] for c in index.store.iter_all()}

    def test_reingest_is_idempotent(self, make: SettingsFactory) -> None:
        index, embedder = _ingested(make)
        count = index.store.count()
        again = Index(index.settings, embedder).ingest()
        assert (again.embedded, again.chunks_added, again.chunks_deleted) == (0, 0, 0)
        assert sorted(again.unchanged) == sorted(ALL)
        assert index.store.count() == count

    def test_other_model_is_refused(self, make: SettingsFactory) -> None:
        index, _ = _ingested(make)
        other = HashEmbedder()
        other.name = "another-model"
        with pytest.raises(IndexStateError, match="qa ingest --reset"):
            ChunkStore(index.settings, other)

    def test_reset_empties_everything(self, make: SettingsFactory) -> None:
        index, _ = _ingested(make)
        reset_index(index.settings)
        fresh = HashEmbedder()
        reopened = Index(index.settings, fresh)
        assert (reopened.store.count(), reopened.catalog.count()) == (0, 0)
        report = reopened.ingest()
        assert len(report.added) == 5
        assert fresh.embedded == reopened.store.count() > 0

    @pytest.mark.slow
    def test_real_model_finds_the_article(self, make: SettingsFactory, real_embedder: Any) -> None:
        index = Index(make(), real_embedder)
        index.ingest()
        vector = real_embedder.embed_query("Which country closed its airspace fearing an invasion?")
        hits = index.store.search(vector, k=3, where=_range(20231101, 20231130))
        assert hits[0].metadata["source"] == "002_e3a0ee1edd778f3c.txt"
        assert 0.3 < hits[0].similarity <= 1.0


@pytest.mark.integration
@pytest.mark.slow
def test_server_mode_keeps_vectors_on_the_server(chroma_server: str, tmp_path: Path) -> None:
    """With QA_CHROMA_URL only records.sqlite and bm25/ stay local; the vectors are remote."""
    import chromadb

    collection = f"remote-{uuid.uuid4().hex[:12]}"
    settings = make_settings(tmp_path, chroma_url=chroma_server, collection=collection)
    index, _ = _ingested(lambda: settings)
    port = int(chroma_server.rsplit(":", 1)[1])
    other = chromadb.HttpClient(host="127.0.0.1", port=port)
    assert other.get_collection(collection).count() == index.store.count() > 0
    local = {p.name for p in settings.index_dir.iterdir() if not p.name.startswith(".")}
    assert "chroma.sqlite3" not in local
    assert {"records.sqlite", "bm25"} <= local


def test_an_embedded_index_is_loaded_when_opened_not_rewritten_by_the_first_query(
    tmp_path: Path,
) -> None:
    """Issue 27, item 7: embedded Chroma rewrote its HNSW files at each process's first query,
    so two `qa ask` processes starting together could read them half written. Opening the
    engine now loads them, under a lock; a query afterwards writes nothing."""
    import os
    import subprocess

    from tests.conftest import ROOT

    settings = make_settings(tmp_path)
    Index(settings, HashEmbedder()).ingest()
    files = sorted(settings.index_dir.glob("*/data_level0.bin"))
    assert files
    script = f"""
import os, sys, time
from pathlib import Path
from qa.answer.engine import Engine
from qa.ingest.index import Index
from qa.ingest.reset import reset_index
from tests.conftest import HashEmbedder, make_settings
settings = make_settings(Path({str(tmp_path)!r}))
index = Index(settings, HashEmbedder())  # another process opens the index to answer
Engine(settings, index, HashEmbedder())
files = {[str(f) for f in files]!r}
before = [os.stat(f).st_mtime_ns for f in files]
time.sleep(0.05)  # mtime resolution
index.store.search(HashEmbedder().embed_query("Niger junta"), 3)
sys.exit(0 if [os.stat(f).st_mtime_ns for f in files] == before else 1)
"""
    run = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
