"""The `qa` command as a user meets it: paths it accepts, exit codes, and what it imports.

What a command imports is read from Python's own import log (PYTHONPROFILEIMPORTTIME), so the
check is deterministic, not a timer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from qa.ingest.index import Index
from tests.conftest import ROOT, SEEDS, HashEmbedder, make_settings

QA = ROOT / ".venv" / "bin" / "qa"
HEAVY = ("torch", "sentence_transformers", "llama_cpp", "spacy")


def _qa(
    args: list[str], cwd: Path, profile: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_MODEL_DIR"}
    base.update(env)
    if profile:
        base["PYTHONPROFILEIMPORTTIME"] = "1"
    return subprocess.run(
        [str(QA), *args], cwd=cwd, env=base, capture_output=True, text=True, timeout=300
    )


def _imported(run: subprocess.CompletedProcess[str]) -> set[str]:
    """Top-level packages named in the import log on stderr."""
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.slow  # a fresh interpreter per command
def test_help_imports_no_model_library_and_no_chroma(tmp_path: Path) -> None:
    run = _qa(["--help"], tmp_path, profile=True)
    assert run.returncode == 0, run.stderr[-2000:]
    for command in ("ingest", "stats", "ask", "serve", "verify", "reindex", "eval"):
        assert command in run.stdout
    imported = _imported(run)
    assert "typer" in imported  # the log is really there
    assert not imported & {*HEAVY, "chromadb"}
    # nor what the commands need only once they run: settings, LangChain, rich's help
    assert not imported & {"pydantic_settings", "langchain_core", "numpy", "rich"}


@pytest.mark.slow  # a fresh interpreter per command
def test_every_command_help_imports_no_model_library(tmp_path: Path) -> None:
    for command in ("ingest", "stats", "ask", "serve", "verify", "reindex", "eval"):
        run = _qa([command, "--help"], tmp_path, profile=True)
        assert run.returncode == 0, (command, run.stderr[-2000:])
        assert not _imported(run) & {*HEAVY, "chromadb"}, command


@pytest.mark.slow  # a fresh interpreter per command
def test_version(tmp_path: Path) -> None:
    run = _qa(["--version"], tmp_path)
    assert run.returncode == 0
    assert run.stdout.startswith("news-qa ")


@pytest.mark.slow  # a fresh interpreter per command
def test_stats_reads_the_index_files_without_model_chroma_or_langchain(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    Index(settings, HashEmbedder()).ingest()  # an index of the seeds, built in this process
    run = _qa(["stats", "--json"], tmp_path, profile=True, QA_INDEX_DIR=str(settings.index_dir))
    assert run.returncode == 0, run.stderr[-2000:]
    stats = json.loads(run.stdout)
    assert (stats["articles"], stats["undated"], stats["chunks"]) == (5, 1, 24)
    assert (stats["first_date"], stats["last_date"]) == ("2023-08-06", "2023-11-11")
    assert stats["embedding_model"] == "hash-embedder"  # the model the index was built with
    imported = _imported(run)
    assert "typer" in imported  # the log is really there
    assert not imported & {*HEAVY, "chromadb", "langchain_core", "langchain_chroma"}


@pytest.mark.slow  # the real model, spaCy and the reader in a fresh interpreter
def test_ask_answers_without_sentence_transformers_or_an_llm_client(seed_index) -> None:
    folders = {
        "QA_CORPUS_DIR": str(seed_index.settings.corpus_dir),
        "QA_INDEX_DIR": str(seed_index.settings.index_dir),
    }
    question = "Which general visited Mali to meet Wagner?"
    run = _qa(["ask", question], seed_index.settings.index_dir.parent, profile=True, **folders)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "[1]" in run.stdout and "do not say" not in run.stdout  # cited, not refused
    imported = _imported(run)
    assert {"openvino", "spacy", "chromadb"} <= imported  # it does embed, tag and search
    # torch and transformers are imported: the neural reader's span model runs in them
    assert not imported & {"sentence_transformers", "optimum", "openai"}


MISSING = "error: no index at nowhere: run `qa ingest` first"


def test_every_command_but_ingest_refuses_a_missing_index_and_creates_nothing(
    tmp_path: Path,
) -> None:
    gold = ROOT / "eval" / "gold" / "seeds.jsonl"
    commands = [
        ["stats"],
        ["stats", "--json"],
        ["ask", "Which general visited Mali to meet Wagner?"],
        ["verify"],
        ["reindex"],
        ["serve", "--port", "1"],  # not even a port to bind: it must stop before that
        ["eval", "--gold", str(gold), "--no-ingest"],
    ]
    for args in commands:
        run = _qa(args, tmp_path, QA_INDEX_DIR="nowhere", QA_CORPUS_DIR=str(SEEDS))
        assert run.returncode == 2, (args, run.stdout, run.stderr[-2000:])
        assert MISSING in run.stderr, (args, run.stderr[-2000:])
        assert list(tmp_path.iterdir()) == [], args  # no index folder, no model export
    run = _qa(["stats", "--index-dir", "nowhere"], tmp_path)
    assert (run.returncode, run.stderr.strip()) == (2, MISSING)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a fresh interpreter per command
def test_ingest_of_a_missing_path_fails_naming_it(tmp_path: Path) -> None:
    run = _qa(["ingest", "missing/"], tmp_path, QA_INDEX_DIR=str(tmp_path / "idx"))
    assert run.returncode != 0
    assert "missing" in run.stderr
    assert not (tmp_path / "idx").exists()  # nothing was created


@pytest.mark.slow  # a fresh interpreter per command
def test_ingest_that_reads_nothing_fails(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")  # unsupported: not even looked at
    run = _qa(["ingest", str(folder)], tmp_path, QA_INDEX_DIR=str(tmp_path / "idx"))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "nothing could be read" in run.stderr
    assert "empty.txt: empty file" in run.stdout


@pytest.mark.slow
def test_ingest_a_folder_indexes_every_supported_file_under_it(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    nested = corpus / "2023" / "august"
    nested.mkdir(parents=True)
    shutil.copy(SEEDS / "000_cd0023486d4bb650.txt", corpus)
    shutil.copy(SEEDS / "001_82e9ea03b5c9249c.txt", nested)
    (nested / ".hidden.txt").write_text("a hidden file is never indexed", encoding="utf-8")
    run = _qa(
        ["ingest", "corpus", "--json"],
        tmp_path,
        QA_CORPUS_DIR=str(corpus),
        QA_INDEX_DIR=str(tmp_path / "idx"),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"added": 2' in run.stdout
    assert '"corpus":' in run.stdout
    assert "DEBUG" not in run.stdout + run.stderr  # no third-party debug lines
    stats = _qa(["stats"], tmp_path, QA_INDEX_DIR=str(tmp_path / "idx"))
    assert "articles:  2" in stats.stdout


@pytest.mark.slow
def test_ingest_says_in_one_line_that_openvino_fell_back_to_torch(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "000_cd0023486d4bb650.txt", corpus)
    blocked = tmp_path / "a-file"
    blocked.write_text("no models folder can be made under a file", encoding="utf-8")
    run = _qa(
        ["ingest"],
        tmp_path,
        QA_CORPUS_DIR=str(corpus),
        QA_INDEX_DIR=str(tmp_path / "idx"),
        QA_MODEL_DIR=str(blocked / "models"),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    said = [line for line in run.stderr.splitlines() if "OpenVINO" in line]
    assert len(said) == 1 and "embedding with torch instead" in said[0], run.stderr[-2000:]
    assert "added 1" in run.stdout
