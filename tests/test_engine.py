"""The answer engine (qa/answer/engine.py) end to end with the real model and the seed index: right
facts from the right files, refusals, date ranges, the citation contract, streaming,
conversation, and the `qa ask` CLI."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qa.answer.engine import Engine
from qa.api.openai_compat import sources_text
from qa.cli import app
from qa.config import get_settings
from qa.ingest.index import Index
from qa.schema import REFUSAL, Answer, AskRequest, Turn
from qa.text import split_cited
from tests.conftest import HashEmbedder, ScriptedEngine, make_settings
from tests.test_verify import assert_contract

S000 = "000_cd0023486d4bb650.txt"
S001 = "001_82e9ea03b5c9249c.txt"
S002 = "002_e3a0ee1edd778f3c.txt"
S003 = "003_dc7ce24594d87c5a.txt"
S004 = "004_4d4a022be80d252f.txt"
NOVEMBER = {S000, S001, S002}
_MARKS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")

# (question, file that must be cited for the fact, fact the answer must contain)
SEED_QUESTIONS = [
    ("How many US troops are in Niger?", S003, "1,100"),
    ("How many French soldiers are in Niger?", S003, "1,500"),
    ("Will Chad intervene militarily in Niger?", S004, "will not intervene"),
    (
        "What did the Algerian president Tebrun say about military intervention?",
        S004,
        "direct threat to Algeria",
    ),
    ("Who is Sita Adamou?", S003, "Association to Defend Human Rights"),
    ("Which ethnic group does Ag Boula have influence among?", S000, "Tuareg"),
    ("What did the presidential guard fear?", S001, "privileged position"),
    ("What ultimatum did ECOWAS give the coup leaders?", S001, "one-week ultimatum"),
    ("Which undersecretary of state was refused a meeting with Bazoum?", S002, "Victoria Nuland"),
    ("How did Nuland describe Bazoum's situation?", S002, "virtual house arrest"),
    pytest.param(
        "What did the junta do with the airspace?",
        S002,
        "closed Niger’s airspace",
        marks=pytest.mark.xfail(
            reason="learned reader (issue 16) quotes another article's 'shut down the country's "
            "airspace' (same fact, other words); see docs/reader.md",
            strict=False,
        ),
    ),
    ("Which countries are willing to participate in a military operation?", S002, "Senegal"),
    (
        "What does federal law require if the US determines a government was unlawfully "
        "overthrown?",
        S002,
        "cut off most American assistance",
    ),
    ("Who is the EU foreign policy chief?", S004, "Josep Borelli"),
    ("Where did Bazoum publish an opinion piece?", S004, "Washington Post"),
    ("What did Catherine Colonna say about the threat of force?", S003, "was credible"),
    ("When did Wagner arrive in Mali?", S003, "end of 2021"),
]


# -- fast ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "sentences"),
    [
        ("One claim here [1]. Another one [2].", ["One claim here [1].", "Another one [2]."]),
        ("One claim here. [1] Another one. [2][3]", ["One claim here. [1]", "Another one. [2][3]"]),
        ("One claim here. [1]\nAnother one.", ["One claim here. [1]", "Another one."]),
        ("The U.S. has 1,100 troops there. [1]", ["The U.S. has 1,100 troops there. [1]"]),
        ("", []),
    ],
)
def test_split_draft_keeps_markers_with_their_sentence(draft: str, sentences: list[str]) -> None:
    assert split_cited(draft) == sentences


def test_ask_request_rejects_a_reversed_range() -> None:
    with pytest.raises(ValueError, match="swap them"):
        AskRequest(question="q", date_from=date(2023, 11, 2), date_to=date(2023, 11, 1))


# -- slow: the real model and seed index --------------------------------------------------------


@pytest.fixture(scope="module")
def engine(seed_index: Index, real_embedder: Any) -> Engine[Index]:
    """The pipeline with the learned reader: these seed examples were its regression tests;
    the default reader's quality on the seeds is gated by tests/test_eval_gate.py."""
    settings = seed_index.settings.model_copy(update={"reader": "learned"})
    return Engine(settings, seed_index, real_embedder)


def check(engine: Engine[Index], request: AskRequest, answer: Answer) -> None:
    """The answer contract: markers resolve, quotes are the article text inside a retrieved
    chunk, dates are the articles' own, a refusal cites nothing."""
    question = answer.question or request.question
    passages = engine.retrieve(question, request.top_k, request.date_from, request.date_to)
    assert_contract(answer, passages)
    if answer.refused:
        assert answer.answer == REFUSAL and answer.citations == []
        return
    assert answer.citations
    rows = engine.index.catalog.rows()
    for c in answer.citations:
        text = engine.index.catalog.text(c.source)
        assert text is not None and c.quote == text[c.start : c.end] and c.quote.strip()
        assert c.date == rows[c.source].date and c.title == rows[c.source].title


def sources_of(answer: Answer, fact: str) -> set[str]:
    """The files cited by the answer sentence(s) that state `fact`."""
    by_n = {c.n: c.source for c in answer.citations}
    return {
        by_n[int(n)]
        for sentence in split_cited(answer.answer)
        if fact in sentence
        for group in _MARKS.findall(sentence)
        for n in group.split(",")
    }


@pytest.mark.slow
@pytest.mark.parametrize(("question", "source", "fact"), SEED_QUESTIONS)
def test_seed_question_cites_the_right_file_and_fact(
    engine: Engine[Index], question: str, source: str, fact: str
) -> None:
    request = AskRequest(question=question)
    answer = engine.ask(request)
    assert not answer.refused, answer.answer
    assert fact in answer.answer, answer.answer
    assert source in sources_of(answer, fact), answer
    assert answer.backend == "extractive" and answer.dropped_sentences == 0
    assert {"retrieve", "total"} <= set(answer.timings_ms)
    check(engine, request, answer)


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    ["Who won the 2022 World Cup?", "What is the boiling point of mercury?"],
)
def test_off_topic_question_is_refused(engine: Engine[Index], question: str) -> None:
    request = AskRequest(question=question)
    answer = engine.ask(request)
    assert answer.refused and answer.answer == REFUSAL and answer.citations == []
    check(engine, request, answer)


@pytest.mark.slow
def test_population_of_niger_is_refused(engine: Engine[Index]) -> None:
    request = AskRequest(question="What is the population of Niger?")
    answer = engine.ask(request)
    assert answer.refused and answer.citations == [], answer.answer
    check(engine, request, answer)


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "Which general visited Mali to meet Wagner?",
        "How many US troops are in Niger?",
        "What did ECOWAS threaten to do?",
    ],
)
def test_date_range_only_cites_articles_in_range(engine: Engine[Index], question: str) -> None:
    request = AskRequest(question=question, date_from=date(2023, 11, 1))
    answer = engine.ask(request)
    check(engine, request, answer)
    assert all(c.source in NOVEMBER for c in answer.citations)
    assert all(c.date is not None and c.date >= date(2023, 11, 1) for c in answer.citations)
    request = AskRequest(question=question, date_to=date(2023, 10, 31))
    answer = engine.ask(request)
    check(engine, request, answer)
    assert {c.source for c in answer.citations} <= {S004}


@pytest.mark.slow
def test_a_date_in_the_question_filters_like_an_explicit_range(engine: Engine[Index]) -> None:
    request = AskRequest(question="What did Algeria say about intervention in August 2023?")
    answer = engine.ask(request)
    assert not answer.refused
    assert {c.source for c in answer.citations} == {S004}
    check(engine, request, answer)


@pytest.mark.slow
def test_003_is_cited_with_date_unknown(engine: Engine[Index]) -> None:
    answer = engine.ask(AskRequest(question="How many US troops are in Niger?"))
    cited = [c for c in answer.citations if c.source == S003]
    assert cited and all(c.date is None for c in cited)
    assert json.loads(answer.model_dump_json())["citations"][0]["date"] is None


@pytest.fixture
def cli_env(seed_index: Index) -> Any:
    settings = seed_index.settings
    get_settings.cache_clear()
    yield {
        "QA_INDEX_DIR": str(settings.index_dir),
        "QA_CORPUS_DIR": str(settings.corpus_dir),
        "QA_READER": "learned",  # as the engine fixture above
    }
    get_settings.cache_clear()


@pytest.mark.slow
def test_cli_ask_prints_date_unknown_for_003(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ask", "How many US troops are in Niger?"], env=cli_env)
    assert result.exit_code == 0, result.output
    answer_line, *rest = result.stdout.strip().splitlines()
    assert "1,100" in answer_line and "[1]" in answer_line
    source_lines = [line for line in rest if line.startswith("[")]
    assert source_lines[0].startswith(f'[1] {S003} (date unknown): "')
    assert "1,100" in source_lines[0]

    result = runner.invoke(
        app, ["ask", "Who is Rhissa Ag Boula?", "--json", "--top-k", "3"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"answer", "refused", "citations", "backend", "timings_ms"} <= set(data)
    assert data["citations"][0]["source"] == S000
    assert data["citations"][0]["date"] == "2023-11-10"


@pytest.mark.slow
def test_cli_ask_refusal_and_bad_input(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ask", "Who won the 2022 World Cup?"], env=cli_env)
    assert result.exit_code == 0 and result.stdout.strip() == REFUSAL
    result = runner.invoke(
        app, ["ask", "q", "--date-from", "2023-11-02", "--date-to", "2023-11-01"], env=cli_env
    )
    assert result.exit_code == 2 and "swap them" in result.output


@pytest.mark.slow
@pytest.mark.parametrize(
    "question", ["How many US troops are in Niger?", "Who won the 2022 World Cup?"]
)
def test_stream_tokens_concatenate_to_the_final_answer(
    engine: Engine[Index], question: str
) -> None:
    events = list(engine.stream(AskRequest(question=question)))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "final" and set(kinds[:-1]) <= {"token", "short", "citation"}
    assert kinds.count("short") <= 1 and "token" in kinds
    final = events[-1][1]
    assert isinstance(final, Answer)
    assert "".join(str(value) for kind, value in events if kind == "token") == final.answer
    shorts = [value for kind, value in events if kind == "short"]
    assert shorts == ([final.short_answer] if final.short_answer else [])
    # each citation is announced once, before the first sentence that uses it
    assert [value for kind, value in events if kind == "citation"] == final.citations


@pytest.mark.slow
def test_stream_from_an_llm_yields_only_verified_text(
    seed_index: Index, real_embedder: Any
) -> None:
    scripted = ScriptedEngine(seed_index.settings, seed_index, real_embedder)
    question = "How many US troops are in Niger?"
    n = next(i for i, p in enumerate(scripted.retrieve(question), 1) if "1,100" in p.text)
    scripted.script(
        f"The United States has 1,100 troops in Niger [{n}]. The junta received 5,000 Wagner "
        f"fighters [{n}]. France has 1,500 soldiers in Niger [{n}]."
    )
    events = list(scripted.stream(AskRequest(question=question, backend="openai")))
    tokens = [str(value) for kind, value in events if kind == "token"]
    final = events[-1][1]
    assert isinstance(final, Answer) and final.dropped_sentences == 1
    assert len(tokens) == 2 and "".join(tokens) == final.answer
    assert final.answer == (
        "The United States has 1,100 troops in Niger. [1] France has 1,500 soldiers in Niger. [1]"
    )


@pytest.mark.slow
def test_follow_up_question_uses_the_history(engine: Engine[Index]) -> None:
    history = [
        Turn(role="user", content="How many French soldiers are in Niger?"),
        Turn(role="assistant", content="France has 1,500 soldiers in Niger. [1]"),
    ]
    request = AskRequest(question="and how many American troops?", history=history)
    answer = engine.ask(request)
    assert "1,100" in answer.answer, answer
    assert S003 in sources_of(answer, "1,100")
    assert answer.question and "Niger" in answer.question
    check(engine, request, answer)


@pytest.mark.slow
def test_without_history_the_follow_up_is_asked_as_is(engine: Engine[Index]) -> None:
    answer = engine.ask(AskRequest(question="and how many American troops?"))
    assert answer.question == "and how many American troops?"


# -- a dump's URLs reach the citations (hash embedder: no model) --------------------------------

WIRE = [
    {
        "article_id": "a1",
        "url": "https://news.example.org/harbour",
        "title": "Port Quillan lighthouse reopens",
        "publish_date": "2024/02/03",
        "authors": ["Ines Marchetti"],
        "text": "The Port Quillan lighthouse reopened on Saturday after a two-year restoration. "
        "The restoration cost 4.2 million euros, the mayor said.",
    },
    {
        "article_id": "a2",
        "url": "https://news.example.org/bridge",
        "title": "Bridge closed",
        "publish_date": "2024/02/04",
        "authors": [],
        "text": "The old bridge over the river was closed to traffic on Monday for repairs.",
    },
]


def test_citations_of_a_dump_record_carry_its_url(tmp_path: Path) -> None:
    corpus = tmp_path / "dump"
    corpus.mkdir()
    (corpus / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in WIRE) + "\n")
    settings = make_settings(tmp_path, corpus=corpus)
    embedder = HashEmbedder()
    index = Index(settings, embedder)
    index.ingest()
    engine = Engine(settings, index, embedder)
    question = "What happened to the Port Quillan lighthouse on Saturday?"
    answer = engine.ask(AskRequest(question=question, mode="answer"))
    assert not answer.refused
    assert [(c.source, c.url, c.date) for c in answer.citations] == [
        ("wire.jsonl#a1", "https://news.example.org/harbour", date(2024, 2, 3))
    ]
    assert sources_text(answer.citations).endswith("— https://news.example.org/harbour")
    row, _ = index.article("wire.jsonl#a1")
    assert (row.url, row.author) == ("https://news.example.org/harbour", "Ines Marchetti")
