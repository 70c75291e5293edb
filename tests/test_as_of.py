"""Every question is asked as of a date (issue 29): `as_of` on the request, the engine, the
HTTP API, the OpenAI-compatible endpoint and the CLI; articles dated after it are never cited;
every answer states its moment. Fast: a small hash-embedded corpus and an injected clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qa.answer.engine import Engine
from qa.api import create_app
from qa.api.openai_compat import ChatMessage, ChatRequest, chat_to_ask
from qa.cli import app as cli_app
from qa.cli.answer import render
from qa.ingest.index import Index
from qa.schema import REFUSAL, Answer, AskRequest, Citation
from qa.search.dates import DateFilter
from qa.search.retrieval import Mode, Retriever
from qa.types import Passage
from tests.conftest import HashEmbedder, make_settings
from tests.test_api import parse_sse
from tests.test_reader import fake_entities

ARTICLES = {
    "aug.txt": (
        " date 2023-08-06 Title: Troops in Niger\n\n"
        "The United States has 1,100 troops in Niger, the Pentagon said. "
        "The troops train local soldiers near Niamey.\n"
    ),
    "sep.txt": (
        " date 2023-09-04 Title: Troop count\n\n"
        "The United States has 1,000 troops in Niger, a spokesman said on Monday. "
        "Football fans celebrated in Niamey.\n"
    ),
    "nov.txt": (
        " date 2023-11-10 Title: Drawdown\n\n"
        "The United States has 650 troops in Niger after a drawdown, the Pentagon said. "
        "The weather in Niamey stayed hot.\n"
    ),
    "undated.txt": (
        "France has 1,500 troops in Niger, officials said. Markets in Niamey were calm.\n"
    ),
}
QUESTION = "How many troops does the United States have in Niger?"
AUG, SEP, NOV = date(2023, 8, 6), date(2023, 9, 4), date(2023, 11, 10)
TODAY = date(2023, 11, 13)  # the injected clock: a Monday


class RecordingRetriever(Retriever):
    """The real retriever, remembering the date filter of each search."""

    filters: list[DateFilter]

    def search(
        self, question: str, top_k: int, dates: DateFilter = DateFilter(), mode: Mode = "hybrid"
    ) -> list[Passage]:
        self.filters.append(dates)
        return super().search(question, top_k, dates, mode)


def build_engine(
    tmp_path_factory: pytest.TempPathFactory, extra: dict[str, str] | None = None
) -> Engine[Index]:
    """An engine over ARTICLES and `extra` (hash embedder, fake entities), its clock at TODAY,
    its retriever recording each date filter."""
    corpus = tmp_path_factory.mktemp("as-of-corpus")
    for name, text in (ARTICLES | (extra or {})).items():
        (corpus / name).write_text(text, encoding="utf-8")
    # the learned reader: these tests check the moment's plumbing on a hash-embedded corpus;
    # the neural reader's own recency prior is tested in tests/test_neural_reader.py
    settings = make_settings(tmp_path_factory.mktemp("as-of"), corpus, reader="learned")
    embedder = HashEmbedder()
    index = Index(settings, embedder)
    index.ingest()
    built = Engine(settings, index, embedder)
    built.learned.tagger = fake_entities
    built.today = lambda: TODAY
    recording = RecordingRetriever(index, built.embedder, settings.candidates, settings.rrf_k)
    recording.filters = []
    built.retriever = recording
    return built


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine[Index]:
    return build_engine(tmp_path_factory)


def cited(answer: Answer) -> set[str]:
    return {c.source for c in answer.citations}


# -- the engine ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "allowed"),
    [
        (AUG, {"aug.txt", "undated.txt"}),
        (date(2023, 9, 3), {"aug.txt", "undated.txt"}),
        (SEP, {"aug.txt", "sep.txt", "undated.txt"}),
        (TODAY, set(ARTICLES)),
    ],
)
def test_articles_dated_after_as_of_are_never_used(
    engine: Engine[Index], as_of: date, allowed: set[str]
) -> None:
    for mode in ("hybrid", "dense", "lexical"):
        passages = engine.retrieve(QUESTION, 10, mode=mode, as_of=as_of)
        assert {p.source for p in passages} <= allowed
    answer = engine.ask(AskRequest(question=QUESTION, as_of=as_of))
    assert not answer.refused and cited(answer) <= allowed
    assert answer.as_of == as_of


def test_the_answer_is_the_one_true_as_of_the_date(engine: Engine[Index]) -> None:
    early = engine.ask(AskRequest(question=QUESTION, as_of=date(2023, 9, 1)))
    assert early.short_answer and early.short_answer.text == "1,100"
    late = engine.ask(AskRequest(question=QUESTION, as_of=TODAY))
    assert late.short_answer and late.short_answer.text == "650"


def test_as_of_defaults_to_the_engines_today(engine: Engine[Index]) -> None:
    answer = engine.ask(AskRequest(question=QUESTION))
    assert answer.as_of == TODAY
    assert engine.retriever.filters[-1].as_of == TODAY  # type: ignore[attr-defined]


def test_undated_articles_still_answer_under_as_of(engine: Engine[Index]) -> None:
    question = "How many troops does France have in Niger?"
    answer = engine.ask(AskRequest(question=question, as_of=date(2023, 8, 1)))
    assert cited(answer) == {"undated.txt"}
    assert answer.newest_source_date is None and answer.moment() == "date unknown"


def test_an_explicit_date_to_replaces_the_as_of_bound(engine: Engine[Index]) -> None:
    ranged = AskRequest(question=QUESTION, as_of=AUG, date_to=date(2023, 11, 30))
    passages = engine.retrieve(QUESTION, 10, ranged.date_from, ranged.date_to, as_of=AUG)
    assert {p.source for p in passages} == {"aug.txt", "sep.txt", "nov.txt"}
    # date_from alone is not a whole range: as_of still bounds it
    since = engine.retrieve(QUESTION, 10, date(2023, 8, 1), None, as_of=SEP)
    assert {p.source for p in since} == {"aug.txt", "sep.txt"}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "How many troops did the United States have in Niger last week?",
            DateFilter(as_of=TODAY, prefer=(date(2023, 11, 6), date(2023, 11, 12))),
        ),
        (
            "How many troops has the United States sent to Niger recently?",
            DateFilter(recency=True, as_of=TODAY),
        ),
        (  # a month without a year: the latest one the index can speak of
            "How many troops did the United States have in Niger in September?",
            DateFilter(date(2023, 9, 1), date(2023, 9, 30), as_of=TODAY),
        ),
    ],
)
def test_retrieval_gets_the_resolved_dates_as_of_and_recency(
    engine: Engine[Index], question: str, expected: DateFilter
) -> None:
    engine.ask(AskRequest(question=question))
    assert engine.retriever.filters[-1] == expected  # type: ignore[attr-defined]


def test_relative_dates_pick_the_article_of_that_week(engine: Engine[Index]) -> None:
    question = "How many troops did the United States have in Niger last week?"
    answer = engine.ask(AskRequest(question=question))
    assert cited(answer) == {"nov.txt"} and answer.newest_source_date == NOV
    moved = engine.ask(AskRequest(question=question, as_of=date(2023, 9, 11)))
    assert cited(moved) == {"sep.txt"} and moved.as_of == date(2023, 9, 11)


def test_a_timeline_is_asked_as_of_too(engine: Engine[Index]) -> None:
    request = AskRequest(question="Timeline of United States troops in Niger", as_of=SEP)
    answer = engine.ask(request)
    assert answer.mode == "timeline" and answer.as_of == SEP
    assert all(e.date is None or e.date <= SEP for e in answer.events)
    assert answer.newest_source_date == max(c.date for c in answer.citations if c.date)


# -- the answer contract -------------------------------------------------------------------


def citation(n: int, day: date | None) -> Citation:
    return Citation(
        n=n, source=f"{n}.txt", date=day, title=None, chunk_id=f"c{n}", start=0, end=4, quote="text"
    )


def test_newest_source_date_is_the_newest_cited_date_or_null() -> None:
    answer = Answer(
        answer="a [1][2][3].",
        refused=False,
        citations=[citation(1, AUG), citation(2, None), citation(3, SEP)],
        backend="extractive",
        as_of=TODAY,
    )
    assert answer.newest_source_date == SEP and answer.moment() == "as of 2023-09-04"
    data = json.loads(answer.model_dump_json())
    assert (data["as_of"], data["newest_source_date"]) == ("2023-11-13", "2023-09-04")
    undated = answer.model_copy(update={"citations": [citation(1, None)]})
    assert undated.newest_source_date is None and undated.moment() == "date unknown"
    assert json.loads(undated.model_dump_json())["newest_source_date"] is None


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"as_of": "13/11/2023"}, "YYYY-MM-DD"),
        ({"as_of": "2023-02-30"}, "date"),
        ({"as_of": "2023-08-06", "date_from": "2023-09-01"}, "after as_of"),
    ],
)
def test_a_bad_as_of_is_refused(fields: dict[str, str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        AskRequest.model_validate({"question": QUESTION, **fields})


def test_a_range_after_as_of_is_allowed_when_date_to_is_set() -> None:
    request = AskRequest(
        question=QUESTION, as_of=AUG, date_from=date(2023, 9, 1), date_to=date(2023, 9, 30)
    )
    assert request.as_of == AUG


# -- HTTP ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(engine: Engine[Index]) -> Iterator[TestClient]:
    with TestClient(create_app(engine.settings, engine)) as test_client:
        yield test_client


def test_ask_takes_as_of_and_states_the_moment(client: TestClient) -> None:
    body = client.post("/ask", json={"question": QUESTION, "as_of": "2023-09-01"}).json()
    assert body["as_of"] == "2023-09-01" and body["newest_source_date"] == "2023-08-06"
    assert {c["source"] for c in body["citations"]} <= {"aug.txt", "undated.txt"}
    default = client.post("/ask", json={"question": QUESTION}).json()
    assert default["as_of"] == TODAY.isoformat() and default["newest_source_date"] == "2023-11-10"
    bad = client.post("/ask", json={"question": QUESTION, "as_of": "yesterday"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.json()["error"]["message"]


def test_ask_stream_final_states_the_moment(client: TestClient) -> None:
    response = client.post("/ask/stream", json={"question": QUESTION, "as_of": "2023-08-31"})
    final = next(data for name, data in parse_sse(response.text) if name == "final")
    assert final["as_of"] == "2023-08-31" and final["newest_source_date"] == "2023-08-06"


def test_openapi_documents_as_of_and_the_header(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "as_of" in schemas["AskRequest"]["properties"]
    assert "as_of" in schemas["ChatRequest"]["properties"]
    answer = schemas.get("Answer-Output", schemas.get("Answer"))
    assert {"as_of", "newest_source_date"} <= set(answer["properties"])
    chat = spec["paths"]["/v1/chat/completions"]["post"]
    assert "X-As-Of" in [p["name"] for p in chat.get("parameters", [])]


def chat(client: TestClient, headers: dict[str, str] | None = None, **body: object) -> dict:
    request = {"messages": [{"role": "user", "content": QUESTION}], **body}
    response = client.post("/v1/chat/completions", json=request, headers=headers or {})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_openai_takes_as_of_from_the_body_or_the_header(client: TestClient) -> None:
    by_header = chat(client, {"X-As-Of": "2023-08-31"})
    content = by_header["choices"][0]["message"]["content"]
    assert "\n\n(as of 2023-08-06)\n\nSources:\n" in content
    assert by_header["as_of"] == "2023-08-31" and by_header["newest_source_date"] == "2023-08-06"
    both = chat(client, {"X-As-Of": "2023-08-31"}, as_of="2023-11-12")
    assert both["as_of"] == "2023-11-12"  # the body wins
    assert "(as of 2023-11-10)" in both["choices"][0]["message"]["content"]
    bad = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": QUESTION}]},
        headers={"X-As-Of": "31.08.2023"},
    )
    assert bad.status_code == 422


def test_openai_stream_ends_with_the_moment(client: TestClient) -> None:
    request = {"messages": [{"role": "user", "content": QUESTION}], "stream": True}
    response = client.post("/v1/chat/completions", json=request, headers={"X-As-Of": "2023-09-01"})
    chunks = [data for _, data in parse_sse(response.text) if data != "[DONE]"]
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "\n\n(as of 2023-08-06)\n\nSources:\n" in content
    assert (chunks[-1]["as_of"], chunks[-1]["newest_source_date"]) == ("2023-09-01", "2023-08-06")


def test_the_moment_line_is_not_kept_in_the_history() -> None:
    earlier = "650 troops [1].\n\n(as of 2023-11-10)\n\nSources:\n[1] nov.txt — 2023-11-10"
    messages = [
        ChatMessage(role="user", content="How many troops?"),
        ChatMessage(role="assistant", content=earlier),
        ChatMessage(role="user", content="And France?"),
    ]
    ask = chat_to_ask(ChatRequest(messages=messages), "2023-11-12")
    assert ask.history[1].content == "650 troops [1]." and ask.as_of == date(2023, 11, 12)


# -- the CLI ------------------------------------------------------------------------------


def test_cli_prints_the_moment_or_date_unknown() -> None:
    answer = Answer(
        answer="650 troops [1].", refused=False, citations=[citation(1, NOV)], backend="x"
    )
    text = render(answer)
    assert text.splitlines()[:3] == ["650 troops [1].", "", "(as of 2023-11-10)"]
    undated = answer.model_copy(update={"citations": [citation(1, None)]})
    assert "(date unknown)" in render(undated)
    refused = Answer(answer=REFUSAL, refused=True, backend="x")
    assert render(refused) == REFUSAL


def test_cli_as_of_must_be_a_date() -> None:
    result = CliRunner().invoke(cli_app, ["ask", QUESTION, "--as-of", "last week"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
