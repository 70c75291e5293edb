"""Timeline answers (qa/answer/timeline.py): detection rules, per-article picks, ordering by article
date with undated last, merging of near-duplicates, and the engine and API in timeline mode,
all with the hash embedder (fast)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from qa.answer.engine import Engine
from qa.answer.timeline import Pick, cite, detect, line, merge, select, topic
from qa.answer.verify import Verifier
from qa.api import create_app
from qa.ingest.index import Index
from qa.schema import REFUSAL, AskRequest
from qa.search.dates import order_key
from qa.types import Passage
from tests.conftest import HashEmbedder, make_settings
from tests.test_api import parse_sse
from tests.test_events import fake_pos
from tests.test_reader import fake_entities


@pytest.mark.parametrize(
    "question",
    [
        "How did the standoff between ECOWAS and Niger's junta develop?",
        "What happened with the French troops in Niger?",
        "What happened to President Bazoum?",
        "Timeline of the coup in Niger",
        "Give me a chronology of the sanctions",
        "How has the crisis evolved?",
        "What has ECOWAS done since August?",
        "How did relations with France change since 2023?",
        "the history of Wagner in the Sahel",
    ],
)
def test_timeline_questions_are_detected(question: str) -> None:
    assert detect(question)


@pytest.mark.parametrize(
    "question",
    [
        "Which general visited Mali to meet Wagner?",
        "When did the junta take power?",
        "How many troops does the United States have in Niger?",
        "How many troops arrived since August?",
        "What did Chad say about military action in August 2023?",
        "Since the takeover, under what kind of detention has Bazoum been held?",
        "What happened on July 26?",
        "How did Nuland describe Bazoum's situation?",
        "Why did Niger's junta close its airspace?",
    ],
)
def test_fact_questions_are_not_timelines(question: str) -> None:
    assert not detect(question)


def test_no_seed_gold_question_is_taken_for_a_timeline() -> None:
    gold = Path(__file__).resolve().parent.parent / "eval" / "gold" / "seeds.jsonl"
    questions = [json.loads(row)["question"] for row in gold.read_text().splitlines() if row]
    assert [q for q in questions if detect(q)] == []


@pytest.mark.parametrize(
    ("question", "about"),
    [
        ("How did the standoff with Niger's junta develop?", "the standoff with Niger's junta"),
        ("What happened with the French troops in Niger?", "the French troops in Niger"),
        ("Timeline of Wagner's involvement in Niger", "Wagner's involvement in Niger"),
        ("What has ECOWAS done since August?", "What has ECOWAS done since August?"),
    ],
)
def test_topic_is_what_the_timeline_is_about(question: str, about: str) -> None:
    assert topic(question) == about


# -- the steps, on hand-made passages ---------------------------------------------------------


def passage(text: str, source: str, day: date | None, n: int = 0, start: int = 0) -> Passage:
    return Passage(
        chunk_id=f"{source}-{n}",
        source=source,
        text=text,
        start=start,
        end=start + len(text),
        date=day,
        title=None,
        score=0.03,
        dense=0.5,
        lexical=1.0,
    )


AUG, SEP, OCT = date(2023, 8, 6), date(2023, 9, 1), date(2023, 10, 1)


def test_order_key_puts_undated_last() -> None:
    days = [None, OCT, AUG, None, SEP]
    assert sorted(days, key=order_key) == [AUG, SEP, OCT, None, None]


def test_select_keeps_at_most_two_per_article_above_the_floor_and_each_sentence_once() -> None:
    a1 = passage("One. Two.", "a.txt", AUG, 0, 0)
    a2 = passage("Two.", "a.txt", AUG, 1, 5)  # the overlapping chunk repeats "Two."
    b = passage("Three. Four.", "b.txt", SEP)
    units = [
        (0, 0, 4, "One."),
        (0, 5, 9, "Two."),
        (1, 0, 4, "Two."),
        (2, 0, 6, "Three."),
        (2, 7, 12, "Four."),
    ]
    scores = np.array([0.9, 0.6, 0.61, 0.2, 0.001])
    picks = select(scores, units, [a1, a2, b])
    assert sorted((p.text, p.start) for p in picks) == [("One.", 0), ("Three.", 0), ("Two.", 5)]
    # a second sentence of an article needs half the first one's score
    weak = select(np.array([0.9, 0.3, 0.3, 0.2, 0.09]), units, [a1, a2, b])
    assert sorted(p.text for p in weak) == ["One.", "Three."]
    assert select(np.zeros(5), units, [a1, a2, b]) == []
    # with the topic's words, a sentence must hold one of them
    assert [p.text for p in select(scores, units, [a1, a2, b], words=frozenset({"three"}))] == [
        "Three."
    ]


def pick(text: str, n: int, day: date | None, start: int = 0) -> Pick:
    return Pick(n, start, start + len(text), text, 0.5, day)


def test_merge_orders_by_date_undated_last_and_joins_near_duplicates() -> None:
    same = "ECOWAS gave the junta a one-week ultimatum to restore democratic rule."
    picks = [
        pick("The junta closed the airspace of Niger on Sunday night.", 0, OCT),
        pick(same, 1, None),
        pick("Algeria warned against any military intervention in Niger.", 2, AUG),
        pick(same, 3, SEP),
        pick("Residents said that cash is scarce in the capital.", 4, None),
    ]
    events = merge(picks, HashEmbedder())
    assert [e.date for e in events] == [AUG, SEP, OCT, None]
    ultimatum = events[1]
    assert ultimatum.text == same
    assert [p.passage for p in ultimatum.picks] == [3, 1]  # the dated report first
    assert [len(e.picks) for e in events] == [1, 2, 1, 1]


def test_merged_event_keeps_every_citation_each_a_verbatim_quote() -> None:
    same = "ECOWAS gave the junta a one-week ultimatum to restore democratic rule."
    passages = [
        passage(f"Talks failed. {same}", "001.txt", SEP, 0, 40),
        passage(f"{same} Markets closed early.", "003.txt", None, 0, 0),
        passage("Algeria warned against any military intervention in Niger.", "004.txt", AUG),
    ]
    picks = [
        Pick(0, 54, 54 + len(same), same, 0.5, SEP),
        Pick(1, 0, len(same), same, 0.4, None),
        Pick(2, 0, len(passages[2].text), passages[2].text, 0.3, AUG),
    ]
    embedder = HashEmbedder()
    builder, events = cite(merge(picks, embedder), passages, Verifier(embedder))
    assert [(e.date, e.citations) for e in events] == [(AUG, [1]), (SEP, [2, 3])]
    assert events[1].text == same
    cited = {c.n: c for c in builder.citations}
    assert (cited[2].source, cited[2].date) == ("001.txt", SEP)
    assert (cited[3].source, cited[3].date) == ("003.txt", None)
    assert cited[2].quote == cited[3].quote == same
    assert (cited[2].start, cited[2].end) == (54, 54 + len(same))  # offsets in the article
    assert line(events[1]) == f"2023-09-01: {same} [2][3]"


def test_an_event_no_article_supports_is_dropped() -> None:
    passages = [passage("The market reopened on Friday.", "a.txt", AUG)]
    bogus = Pick(0, 0, 10, "Senegal sent 400 troops to Agadez in 1999.", 0.5, AUG)
    builder, events = cite(merge([bogus], HashEmbedder()), passages, Verifier(HashEmbedder()))
    assert events == [] and builder.dropped == 1


# -- the engine and the API, over a small hash-embedded corpus --------------------------------

ARTICLES = {
    "aug.txt": (
        " date 2023-08-06 Title: ECOWAS sets a deadline\n\n"
        "The ECOWAS bloc set a deadline for the Niger junta to restore the ousted president. "
        "Traders in Niamey said prices of rice were rising.\n"
    ),
    "nov.txt": (
        " date 2023-11-07 Title: ECOWAS ultimatum\n\n"
        "ECOWAS leaders gave the Niger junta a one-week ultimatum to restore democratic rule. "
        "The weather in the capital stayed hot all week long.\n"
    ),
    "undated.txt": (
        "The ECOWAS bloc agreed an intervention plan against the Niger junta on Friday. "
        "Cash remained scarce in the markets of the capital city.\n"
    ),
    "oct.txt": (
        " date 2023-10-02 Title: Bloc and junta\n\n"
        "Delegates of the ECOWAS bloc and the Niger junta held talks in Abuja about a transition "
        "timetable. "
        "Football fans celebrated a late win in the national league.\n"
    ),
}
QUESTION = "How did the standoff between the ECOWAS bloc and the Niger junta develop?"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine[Index]:
    corpus = tmp_path_factory.mktemp("timeline-corpus")
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = make_settings(tmp_path_factory.mktemp("timeline"), corpus)
    embedder = HashEmbedder()
    index = Index(settings, embedder)
    index.ingest()
    built = Engine(settings, index, embedder)
    built.learned.tagger = fake_entities
    built.timeline.pos = fake_pos
    return built


def test_timeline_lines_name_the_subject_and_report_what_happened(engine: Engine[Index]) -> None:
    event = engine.timeline.of_subject(
        "the standoff between the ECOWAS bloc and the Niger junta",
        list(ARTICLES.values()),
    )
    assert event("ECOWAS leaders gave the Niger junta a one-week ultimatum.")
    assert not event("Football fans celebrated a late win in the national league.")  # no subject
    assert not event("Traders in Niamey said prices of rice were rising.")  # no subject
    assert not event("The ECOWAS bloc now faces significant challenges.")  # an assessment


def test_engine_detects_a_timeline_and_lists_events_oldest_first_undated_last(
    engine: Engine[Index],
) -> None:
    answer = engine.ask(AskRequest(question=QUESTION))
    assert answer.mode == "timeline" and not answer.refused
    dates = [e.date for e in answer.events]
    assert dates == [date(2023, 8, 6), date(2023, 10, 2), date(2023, 11, 7), None]
    by_n = {c.n: c for c in answer.citations}
    for event in answer.events:
        assert event.citations
        for n in event.citations:
            assert by_n[n].date == event.date
            assert event.text == by_n[n].quote  # verbatim, offsets into the article
            article = engine.index.catalog.text(by_n[n].source) or ""
            assert article[by_n[n].start : by_n[n].end] == event.text
    assert "Football" not in answer.answer and "weather" not in answer.answer
    assert answer.answer.splitlines()[-1].startswith("date unknown: The ECOWAS bloc agreed")
    assert answer.answer.splitlines()[0].startswith("2023-08-06: The ECOWAS bloc set a deadline")


def test_mode_forces_a_timeline_or_a_plain_answer(engine: Engine[Index]) -> None:
    forced = engine.ask(AskRequest(question="What did the ECOWAS bloc do?", mode="timeline"))
    assert forced.mode == "timeline" and len(forced.events) >= 2
    plain = engine.ask(AskRequest(question=QUESTION, mode="answer"))
    assert plain.mode == "answer" and plain.events == []


def test_a_timeline_nothing_supports_is_a_refusal(engine: Engine[Index]) -> None:
    answer = engine.ask(AskRequest(question="Timeline of the zebra migration", mode="timeline"))
    assert answer.mode == "timeline" and answer.refused
    assert answer.answer == REFUSAL and answer.events == [] and answer.citations == []


@pytest.fixture(scope="module")
def client(engine: Engine[Index]) -> Iterator[TestClient]:
    with TestClient(create_app(engine.settings, engine)) as test_client:
        yield test_client


def test_ask_with_mode_timeline_returns_events(client: TestClient) -> None:
    body = {"question": "What did the ECOWAS bloc do?", "mode": "timeline"}
    answer = client.post("/ask", json=body).json()
    assert answer["mode"] == "timeline"
    assert [e["date"] for e in answer["events"]][-1] is None
    assert answer["events"][0]["date"] == "2023-08-06"
    assert {n for e in answer["events"] for n in e["citations"]} == {
        c["n"] for c in answer["citations"]
    }
    assert client.post("/ask", json={**body, "mode": "list"}).status_code == 422


def test_ask_stream_sends_one_timeline_event_per_line(client: TestClient) -> None:
    response = client.post("/ask/stream", json={"question": QUESTION})
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert "token" not in names
    lines = [data for name, data in events if name == "timeline"]
    assert names == ["timeline"] * len(lines) + ["citations", "final", "done"]
    final = events[-2][1]
    assert final["mode"] == "timeline" and lines == final["events"]
    assert [line["date"] for line in lines] == ["2023-08-06", "2023-10-02", "2023-11-07", None]


def test_openapi_documents_the_mode_and_the_timeline_event(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "mode" in schemas["AskRequest"]["properties"]
    assert {"mode", "events"} <= set(schemas["Answer"]["properties"])
    stream = spec["paths"]["/ask/stream"]["post"]["responses"]["200"]["content"]
    assert "timeline" in stream["text/event-stream"]["schema"]["properties"]["event"]["enum"]


# -- the real model over the seeds (slow) -----------------------------------------------------

SEED_TIMELINE = "How did the standoff between ECOWAS and Niger's junta develop?"
UNDATED = "003_dc7ce24594d87c5a.txt"


@pytest.fixture(scope="module")
def seed_engine(seed_index: Index, real_embedder: object) -> Engine[Index]:
    return Engine(seed_index.settings, seed_index, real_embedder)  # type: ignore[arg-type]


@pytest.mark.slow
def test_seed_timeline_is_dated_ordered_and_quotes_the_articles(seed_engine: Engine[Index]) -> None:
    answer = seed_engine.ask(AskRequest(question=SEED_TIMELINE))
    assert answer.mode == "timeline" and not answer.refused
    dates = [e.date for e in answer.events]
    assert dates == sorted(dates, key=order_key) and dates[0] == date(2023, 8, 6)
    assert dates[-1] is None  # the undated 003, last
    by_n = {c.n: c for c in answer.citations}
    assert {by_n[n].source for n in answer.events[-1].citations} == {UNDATED}
    catalog = seed_engine.index.catalog
    for event in answer.events:
        for n in event.citations:
            c = by_n[n]
            assert c.date == event.date or (c.date and event.date and c.date > event.date)
            assert catalog.text(c.source)[c.start : c.end] == c.quote  # type: ignore[index]
        assert event.text == by_n[event.citations[0]].quote
    assert any("one-week ultimatum" in e.text for e in answer.events)
    # "since August" is a date filter: the undated article drops out
    since = seed_engine.ask(AskRequest(question="What has ECOWAS done since August?"))
    assert since.mode == "timeline" and since.events and all(e.date for e in since.events)


@pytest.mark.slow
def test_seed_timeline_of_nothing_indexed_is_refused(seed_engine: Engine[Index]) -> None:
    answer = seed_engine.ask(AskRequest(question="Timeline of the zebra migration in Kenya"))
    assert answer.mode == "timeline" and answer.refused and answer.answer == REFUSAL


@pytest.mark.slow
def test_cli_ask_timeline_prints_dated_lines(seed_index: Index) -> None:
    from typer.testing import CliRunner

    from qa.cli import app
    from qa.config import get_settings

    settings = seed_index.settings
    env = {"QA_INDEX_DIR": str(settings.index_dir), "QA_CORPUS_DIR": str(settings.corpus_dir)}
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        question = "Which general visited Mali to meet Wagner?"
        result = runner.invoke(app, ["ask", question, "--timeline"], env=env)
        assert result.exit_code == 0, result.output
        lines = result.stdout.strip().split("\n\n")[0].splitlines()
        assert len(lines) >= 2 and lines[0].startswith("2023-08-06: ")
        assert lines[-1].startswith("date unknown: ") and "Mody" in lines[-1]
        plain = runner.invoke(app, ["ask", SEED_TIMELINE, "--no-timeline", "--json"], env=env)
        assert plain.exit_code == 0, plain.output
        data = json.loads(plain.stdout)
        assert data["mode"] == "answer" and data["events"] == []
    finally:
        get_settings.cache_clear()
