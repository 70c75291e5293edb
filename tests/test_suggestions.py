"""Suggested questions for the empty chat page, and the small routes the page uses.

The routes run against an index of the seeds built with the hash embedder: no model loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.api import create_app
from qa.engine import Engine
from qa.indexing import Index
from qa.suggestions import suggested_questions, topic
from tests.conftest import HashEmbedder, make_settings

S004_TITLE = "Niger’s Coup Leader Seeks Russian Support, While Algeria Warns of Intervention Threat"


def test_topic_is_the_first_clause_of_a_title() -> None:
    assert topic(S004_TITLE) == "Niger’s Coup Leader Seeks Russian Support"
    assert topic("Junta closes airspace.") == "Junta closes airspace"
    assert len(topic("word " * 40, limit=30)) <= 31


def test_suggestions_are_newest_first_one_per_article_without_stubs() -> None:
    questions = suggested_questions(
        [
            ("Old news about the border", date(2020, 1, 1)),
            ("Undated piece about the junta", None),
            (S004_TITLE, date(2023, 8, 6)),
            ("Too short", date(2024, 1, 1)),
            ("Niger’s Coup Leader Seeks Russian Support, again", date(2023, 8, 7)),
        ],
        count=3,
    )
    assert questions == [
        "What do the articles say about “Niger’s Coup Leader Seeks Russian Support”?",
        "What do the articles say about “Old news about the border”?",
        "What do the articles say about “Undated piece about the junta”?",
    ]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("page-routes"))
    embedder = HashEmbedder()
    index = Index(settings, embedder)
    index.ingest()
    with TestClient(create_app(settings, Engine(settings, index, embedder))) as test_client:
        yield test_client


def test_suggestions_route_offers_questions_from_the_seeds(client: TestClient) -> None:
    questions = client.get("/suggestions").json()["questions"]
    assert len(questions) == 4
    assert "What do the articles say about “Niger’s Coup Leader Seeks Russian Support”?" in (
        questions
    )
    assert all(q.startswith("What do the articles say about “") for q in questions)


def test_favicon_is_served(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert client.get("/static/favicon.svg").status_code == 200


def test_documents_carry_a_lead_when_untitled_and_filter_by_text(client: TestClient) -> None:
    docs = {d["source"]: d for d in client.get("/documents").json()["documents"]}
    s000 = docs["000_cd0023486d4bb650.txt"]
    assert s000["title"] is None
    assert s000["lead"].startswith("A new movement has recently emerged in Niger")
    assert docs["004_4d4a022be80d252f.txt"]["lead"] is None  # it has a title

    page = client.get("/documents", params={"q": "coup leader"}).json()
    assert page["total"] == 1 and page["documents"][0]["source"].startswith("004_")
    page = client.get("/documents", params={"q": "date unknown"}).json()
    assert [d["source"] for d in page["documents"]] == ["003_dc7ce24594d87c5a.txt"]
    page = client.get("/documents", params={"q": "2023-11"}).json()
    assert page["total"] == 3

    one = client.get("/documents/003_dc7ce24594d87c5a.txt").json()
    assert one["lead"].startswith("Niger’s junta authorities have requested assistance")


def test_upload_reports_a_missing_or_bad_date(client: TestClient, tmp_path: Path) -> None:
    files = [
        ("files", ("undated.md", b"# Bridge opens\n\nThe bridge opened.\n", "text/markdown")),
        ("files", ("baddate.txt", b"Date: 2023-02-30\n\nThe ferry resumed.\n", "text/plain")),
        ("files", ("good.txt", b"Published: December 1, 2023\n\nThe port closed.\n", "text/plain")),
    ]
    summary = client.post("/documents", files=files).json()
    assert summary["added"] == 3
    problems = {p["source"]: p["message"] for p in summary["problems"]}
    assert problems == {
        "undated.md": "no date found: shown as date unknown",
        "baddate.txt": "Date: '2023-02-30' is not a date we can read: shown as date unknown",
    }
    good = client.get("/documents/good.txt").json()
    assert (good["date"], good["title"]) == ("2023-12-01", None)
