"""Newer reports (qa/answer/newer.py): a newer article, up to as_of, that answers the question
differently is listed under the answer as a verified quote; fast, on the hash-embedded corpus
of tests/test_as_of.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.answer.newer import AS_WELL, _norm
from qa.api import create_app
from qa.cli.answer import render
from qa.ingest.index import Index
from qa.schema import AskRequest
from tests.test_as_of import QUESTION, SEP, TODAY, build_engine

OCTOBER = date(2023, 10, 1)  # aug.txt (1,100) and sep.txt (1,000) are indexed by then
# These tests check the listing, its checks and its faces on a hash-embedded corpus, at the
# hand-set bar of the seeds: the September quote answers 1.3 times as well as the August one
# read alone. The fitted qa.answer.newer.AS_WELL (7.55, changing-facts dev half) would drop it: that
# bar is measured by `qa eval --gold eval/gold/changing-dev.jsonl` (docs/evaluation.md).
PLUMBING_BAR = 0.8


def plumbed(engine: Engine[Index]) -> Engine[Index]:
    engine.newer.as_well = PLUMBING_BAR
    return engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine[Index]:
    return plumbed(build_engine(tmp_path_factory))


def test_a_newer_article_that_answers_differently_is_listed(engine: Engine[Index]) -> None:
    answer = engine.ask(AskRequest(question=QUESTION, as_of=OCTOBER))
    assert answer.short_answer and answer.short_answer.text == "1,100"
    assert [(r.date, r.short_answer) for r in answer.newer] == [(SEP, "1,000")]
    report = answer.newer[0]
    assert report.citation.source == "sep.txt" and report.citation.date == SEP
    assert report.citation.n == len(answer.citations) + 1  # numbered after the answer's own
    text = engine.index.catalog.text("sep.txt")
    assert text and text[report.citation.start : report.citation.end] == report.citation.quote
    assert "1,000" in report.citation.quote
    assert "newer" in answer.timings_ms


def test_no_newer_report_after_as_of_or_when_the_answer_is_the_newest(
    engine: Engine[Index],
) -> None:
    early = engine.ask(AskRequest(question=QUESTION, as_of=date(2023, 9, 1)))
    assert early.short_answer and early.short_answer.text == "1,100" and early.newer == []
    latest = engine.ask(AskRequest(question=QUESTION, as_of=TODAY))
    assert latest.newest_source_date == date(2023, 11, 10) and latest.newer == []


def test_a_question_about_a_past_range_gets_no_newer_report(engine: Engine[Index]) -> None:
    question = "How many troops did the United States have in Niger in August 2023?"
    answer = engine.ask(AskRequest(question=question, as_of=OCTOBER))
    assert answer.short_answer and answer.newer == []


def test_newer_reports_can_be_switched_off(engine: Engine[Index]) -> None:
    on = {"newer_as_well": PLUMBING_BAR}  # the setting reaches the bar, and the switch wins
    loud = Engine(engine.settings.model_copy(update=on), engine.index, engine.embedder)
    loud.learned.tagger = engine.learned.tagger
    assert loud.newer.as_well == PLUMBING_BAR
    assert loud.ask(AskRequest(question=QUESTION, as_of=OCTOBER)).newer != []
    off = on | {"newer_reports": False}
    quiet = Engine(engine.settings.model_copy(update=off), engine.index, engine.embedder)
    quiet.learned.tagger = engine.learned.tagger
    assert quiet.ask(AskRequest(question=QUESTION, as_of=OCTOBER)).newer == []


def test_the_bar_is_the_fitted_constant_unless_set(engine: Engine[Index]) -> None:
    default = Engine(engine.settings, engine.index, engine.embedder)
    assert engine.settings.newer_as_well is None and default.newer.as_well == AS_WELL


def test_a_newer_number_about_something_else_is_not_listed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    chad = {
        "oct.txt": (
            " date 2023-10-20 Title: Chad\n\n"
            "Chad has 2,000 troops in Niger, officials said. Markets in Niamey were calm.\n"
        )
    }
    engine = plumbed(build_engine(tmp_path_factory, chad))
    answer = engine.ask(AskRequest(question=QUESTION, as_of=date(2023, 10, 25)))
    assert answer.short_answer and answer.short_answer.text == "1,000"  # sep.txt, the newest
    # the Chad article is newer and holds a number of troops, but not the United States'
    assert answer.newer == []


def test_the_same_answer_written_differently_is_not_newer() -> None:
    assert _norm("1,100") == _norm("1100") and _norm("the Wagner Group") == _norm("Wagner Group")
    assert _norm("1,100") != _norm("1,000")


@pytest.fixture(scope="module")
def client(engine: Engine[Index]) -> Iterator[TestClient]:
    with TestClient(create_app(engine.settings, engine)) as test_client:
        yield test_client


def test_every_face_shows_the_newer_report(client: TestClient, engine: Engine[Index]) -> None:
    body = client.post("/ask", json={"question": QUESTION, "as_of": "2023-10-01"}).json()
    assert [(r["date"], r["short_answer"]) for r in body["newer"]] == [("2023-09-04", "1,000")]
    assert body["newer"][0]["citation"]["source"] == "sep.txt"
    chat = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": QUESTION}], "as_of": "2023-10-01"},
    ).json()
    content = chat["choices"][0]["message"]["content"]
    assert "(as of 2023-08-06)\nA newer report (2023-09-04) says 1,000: " in content
    text = render(engine.ask(AskRequest(question=QUESTION, as_of=OCTOBER)))
    assert "A newer report (2023-09-04) says 1,000" in text
