"""Suggested questions for the empty chat page, and the small routes the page uses.

The filter is tested with a scripted answerer (fast); the candidates with spaCy, and the
suggestions end to end over the real seed index with the default backend (slow). The page
routes run against an index of the seeds built with the hash embedder: no model loads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.answer.suggestions import Article, Suggestions, candidates, keep_answered, truecase
from qa.api import create_app
from qa.ingest.index import Index
from tests.conftest import HashEmbedder, make_settings


class ScriptedAnswers:
    """A fake engine's yes/no: answers the questions it was given, refuses the rest, and
    remembers what it was asked."""

    def __init__(self, answered: set[str]) -> None:
        self.answered = answered
        self.asked: list[str] = []

    def __call__(self, question: str) -> bool:
        self.asked.append(question)
        return question in self.answered


def test_the_filter_keeps_the_first_answered_in_order_and_asks_no_more_than_needed() -> None:
    questions = [f"q{i}?" for i in range(10)]
    engine = ScriptedAnswers({"q1?", "q2?", "q4?", "q5?", "q6?"})
    assert keep_answered(questions, engine, count=3, checks=10) == ["q1?", "q2?", "q4?"]
    assert engine.asked == questions[:5]  # stops once three are kept
    engine = ScriptedAnswers({"q1?", "q8?"})
    assert keep_answered(questions, engine, count=4, checks=5) == ["q1?"]  # at most 5 asked
    assert engine.asked == questions[:5]
    assert keep_answered(questions, ScriptedAnswers(set()), count=4) == []
    assert keep_answered(questions, engine, seconds=-1) == []  # past its time: asks nothing


def test_suggestions_are_made_once_per_set_of_articles() -> None:
    articles = [Article("A", "a text", date(2023, 1, 1))]
    made: list[int] = []

    def make(given: Sequence[Article]) -> list[str]:
        made.append(len(given))
        return [f"Who wrote {a.title}?" for a in given] + ["Never answered?"]

    engine = ScriptedAnswers({"Who wrote A?", "Who wrote B?"})
    suggestions = Suggestions(lambda: list(articles), engine, make=make)
    assert suggestions.questions() == ["Who wrote A?"]
    assert suggestions.questions() == ["Who wrote A?"] and made == [1]  # not asked again
    articles.append(Article("B", "b text", None))  # an upload
    assert suggestions.questions() == ["Who wrote A?", "Who wrote B?"] and made == [1, 2]
    off = Suggestions(lambda: list(articles), engine, checks=0, make=make)
    assert off.questions() == [] and made == [1, 2]  # QA_SUGGESTION_CHECKS=0: nothing made


def test_a_title_cased_headline_is_read_in_the_articles_own_case() -> None:
    text = "The coup leader visited Mali. The coup leader met Wagner. Algeria warned."
    assert truecase("Coup Leader Visits Mali", text) == "Coup leader Visits Mali"
    assert truecase("Algeria Warns", text) == "Algeria Warns"


@pytest.mark.slow
def test_candidates_ask_who_what_when_about_an_articles_entities_and_events() -> None:
    article = Article(
        None,
        "The Zarmaganda Works Company dredged the river harbour of Niamey on Friday. "
        "Its director Amadou Sekou Bello said barges of 400 tonnes can dock again.",
        date(2023, 12, 5),
    )
    found = candidates([article])
    assert "When did the Zarmaganda Works Company dredge the river harbour of Niamey?" in found
    assert "Who dredged the river harbour of Niamey?" in found
    assert "Who is Amadou Sekou Bello?" in found
    assert found == candidates([article])  # deterministic
    assert not any("What do the articles say" in q for q in found)


@pytest.mark.slow
def test_every_seed_suggestion_is_answered_and_names_an_indexed_article(
    seed_index,
    real_embedder,
) -> None:
    engine = Engine(seed_index.settings, seed_index, real_embedder)  # the default backend
    with TestClient(create_app(engine.settings, engine)) as client:
        questions = client.get("/suggestions").json()["questions"]
        assert len(questions) == 4, questions
        assert client.get("/suggestions").json()["questions"] == questions  # deterministic
        for question in questions:
            assert re.match(r"(Who|What|When) ", question) and question.endswith("?")
            assert "What do the articles say" not in question
            answer = client.post("/ask", json={"question": question}).json()
            assert answer["refused"] is False and answer["citations"], (question, answer)
    # each one names an entity or a title word of an indexed article
    from qa.answer.reader.entities import load_nlp

    catalog = seed_index.catalog
    names = set()
    for row in catalog.rows().values():
        names |= {e.text for e in load_nlp()(catalog.text(row.source) or "").ents}
        names |= set((row.title or "").split())
    names = {n for n in names if n[:1].isupper() and len(n) > 2}
    for question in questions:
        assert any(name in question for name in names), question


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("page-routes"))
    embedder = HashEmbedder()
    index = Index(settings, embedder)
    index.ingest()
    with TestClient(create_app(settings, Engine(settings, index, embedder))) as test_client:
        yield test_client


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
