"""`qa ingest` and `qa stats` as a user runs them: real processes, real model, env settings."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow

QA = ROOT / ".venv" / "bin" / "qa"


@dataclass(frozen=True)
class Runs:
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    stats: subprocess.CompletedProcess[str]
    folder: Path  # working directory of the runs, holding articles/ and idx/


def _qa(args: list[str], corpus: Path, index: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_MODEL_DIR"}
    env.update(QA_CORPUS_DIR=str(corpus), QA_INDEX_DIR=str(index))
    return subprocess.run(
        [str(QA), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Ingest a copy of the seeds plus one empty file twice, then ask for stats (3 processes)."""
    tmp = tmp_path_factory.mktemp("cli")
    corpus, index = tmp / "articles", tmp / "idx"
    shutil.copytree(SEEDS, corpus)
    (corpus / "empty.txt").write_bytes(b"")
    first = _qa(["ingest"], corpus, index, tmp)
    second = _qa(["ingest"], corpus, index, tmp)
    stats = _qa(["stats", "--json"], corpus, index, tmp)
    return Runs(first, second, stats, tmp)


def _summary(out: str) -> dict[str, int]:
    match = re.search(
        r"added (\d+), updated (\d+), skipped (\d+), deleted (\d+) articles; "
        r"(\d+) chunks added, (\d+) deleted, (\d+) embedded",
        out,
    )
    assert match, out
    keys = ["added", "updated", "skipped", "deleted", "chunks_added", "chunks_deleted", "embedded"]
    return dict(zip(keys, map(int, match.groups()), strict=True))


def test_first_ingest_adds_the_five_seeds(runs: Runs) -> None:
    assert runs.first.returncode == 0, runs.first.stderr
    summary = _summary(runs.first.stdout)
    assert summary["added"] == 5
    assert (summary["updated"], summary["skipped"], summary["deleted"]) == (0, 0, 0)
    assert summary["chunks_added"] == summary["embedded"] > 5
    assert "indexed 5/5 articles" in runs.first.stdout  # plain progress lines off a terminal


def test_second_ingest_skips_everything_and_embeds_nothing(runs: Runs) -> None:
    assert runs.second.returncode == 0, runs.second.stderr
    assert _summary(runs.second.stdout) == {
        "added": 0,
        "updated": 0,
        "skipped": 5,
        "deleted": 0,
        "chunks_added": 0,
        "chunks_deleted": 0,
        "embedded": 0,
    }


def test_bad_file_is_listed_as_a_warning(runs: Runs) -> None:
    for run in (runs.first, runs.second):
        assert re.search(r"^warning: empty\.txt: empty file", run.stdout, re.MULTILINE), run.stdout


def test_stats_json_reports_the_index(runs: Runs) -> None:
    assert runs.stats.returncode == 0, runs.stats.stderr
    stats = json.loads(runs.stats.stdout)
    assert stats["articles"] == 5
    assert stats["undated"] == 1
    assert stats["chunks"] == _summary(runs.first.stdout)["chunks_added"]
    assert (stats["first_date"], stats["last_date"]) == ("2023-08-06", "2023-11-11")
    assert stats["embedding_model"] == "all-MiniLM-L6-v2"
    assert stats["index_bytes"] > 0


def test_everything_derived_lives_in_the_index_folder(runs: Runs) -> None:
    assert sorted(p.name for p in runs.folder.iterdir()) == ["articles", "idx"]  # cwd untouched
    index = runs.folder / "idx"
    assert (index / "chroma.sqlite3").is_file()
    assert (index / "records.sqlite").is_file()
    assert len([p for p in (index / "bm25").iterdir() if p.is_dir()]) == 1
    corpus = sorted(p.name for p in (runs.folder / "articles").iterdir())
    assert corpus == sorted([p.name for p in SEEDS.iterdir()] + ["empty.txt"])
