"""Issue 27, hardening third round: the findings outside feeds (tests/test_feeds.py and
tests/test_fetch.py hold those), each as a fast regression test.

A hash-embedded copy of the seeds, the app in process; nothing loads the real model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.api import create_app
from qa.ingest.corpus import read_bytes
from qa.ingest.index import Index
from tests.conftest import HashEmbedder, make_settings


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine[Index]:
    embedder = HashEmbedder()
    settings = make_settings(tmp_path_factory.mktemp("round3"), api_key="k")
    index = Index(settings, embedder)
    index.ingest()
    return Engine(settings, index, embedder)


@pytest.fixture(scope="module")
def client(engine: Engine[Index]) -> Iterator[TestClient]:
    with TestClient(create_app(engine.settings, engine)) as test_client:
        yield test_client


KEY = {"X-API-Key": "k"}


# -- item 6: a NUL byte in a path --------------------------------------------------------------


@pytest.mark.parametrize("name", ["%00", "a%00b.txt", "%0A", "x%1Fy.txt", "feeds/%00", "%7F"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_control_characters_in_a_path_are_4xx(client: TestClient, name: str, method: str) -> None:
    response = client.request(method, f"/documents/{name}", headers=KEY)
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["type"]


# -- item 9: strict top_k, safe record ids -----------------------------------------------------


@pytest.mark.parametrize("value", ["7", True, 7.0, "seven"])
def test_top_k_must_be_a_json_integer(client: TestClient, value: Any) -> None:
    ask = client.post("/ask", json={"question": "Who met Wagner?", "top_k": value})
    assert ask.status_code == 422, ask.text
    chat = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "Who met Wagner?"}], "top_k": value},
    )
    assert chat.status_code == 422, chat.text


@pytest.mark.parametrize("ident", ["../../outside2", "a/b", "x#y", "..", " pad", "a\\u0000b"])
def test_unsafe_record_ids_are_not_source_names(ident: str) -> None:
    text = "The Port Quillan ferry resumed its winter timetable on Monday."
    raw = f'{{"id": "ok", "text": "{text}"}}\n{{"id": "{ident}", "text": "Other: {text}"}}\n'
    read = read_bytes("wire.jsonl", raw.encode())
    assert [a.source for a in read.articles] == ["wire.jsonl#ok", "wire.jsonl#2"]
    (problem,) = read.problems
    assert problem.source == "wire.jsonl#2" and not problem.skipped
    assert "not a safe name" in problem.message


def test_a_record_id_with_a_dot_or_space_inside_is_kept() -> None:
    raw = b'{"id": "2024-05-05.12 am", "text": "The ferry resumed its timetable."}\n'
    assert [a.source for a in read_bytes("w.jsonl", raw).articles] == ["w.jsonl#2024-05-05.12 am"]


def test_deleting_a_feed_source_with_a_nul_is_400_not_500(tmp_path: Path) -> None:
    from qa.errors import InputError

    settings = make_settings(tmp_path)
    index = Index(settings, HashEmbedder())
    with pytest.raises(InputError, match="control character"):
        index.delete("feeds/\x00")
    with pytest.raises(InputError, match="control character"):
        index.article("a\x00")


def test_a_bad_file_is_logged_once_per_change_not_at_every_rescan(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    settings = make_settings(tmp_path)
    bad = settings.corpus_dir / "broken.jsonl"
    bad.write_text('{"id": "a", "text": "The ferry runs."}\nnot json\n', encoding="utf-8")
    index = Index(settings, HashEmbedder())
    with caplog.at_level(logging.WARNING, logger="qa.ingest.corpus"):
        for _ in range(3):  # three rescans of an unchanged folder
            assert any(p.source.startswith("broken.jsonl") for p in index.ingest().problems)
        assert sum("broken.jsonl" in r.getMessage() for r in caplog.records) == 1
        bad.write_text('{"id": "a", "text": "The ferry runs."}\nstill not json\n', "utf-8")
        index.ingest()
        assert sum("broken.jsonl" in r.getMessage() for r in caplog.records) == 2
