"""Metrics, gold loading, thresholds and the runner, on hand-made answers (no model)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from qa.cli import eval_app
from qa.errors import BackendError, InputError
from qa.evaluation import (
    GoldItem,
    Metric,
    Outcome,
    Report,
    check_thresholds,
    contains,
    deltas,
    evaluate_backend,
    evaluate_retrieval,
    is_correct,
    load_gold,
    markers,
    needed,
    normalize,
    reciprocal_rank,
    score,
    source_hits,
    split_sentences,
    summarize,
    token_f1,
)
from qa.schema import REFUSAL, Answer, AskRequest, Citation

ROOT = Path(__file__).resolve().parent.parent
A, B, C = "000_a.txt", "001_b.txt", "002_c.txt"


def item(**kw: object) -> GoldItem:
    values: dict[str, object] = {
        "id": "q1",
        "question": "How many troops does the United States have in Niger?",
        "answers": ["1,100"],
        "sources": [A],
    }
    values.update(kw)
    return GoldItem.model_validate(values)


def cite(n: int, source: str, chunk: str | None = None, day: date | None = None) -> Citation:
    return Citation(
        n=n,
        source=source,
        date=day,
        title=None,
        chunk_id=chunk or f"{source}:0",
        start=0,
        end=5,
        quote="quote",
    )


def answer(text: str, *citations: Citation, refused: bool = False, dropped: int = 0) -> Answer:
    return Answer(
        answer=text,
        refused=refused,
        citations=list(citations),
        backend="extractive",
        timings_ms={"retrieve": 5.0, "total": 9.0},
        dropped_sentences=dropped,
    )


def always(sentence: str, evidence: Sequence[str]) -> bool:
    return True


def by_word(sentence: str, evidence: Sequence[str]) -> bool:
    """A stand-in verifier: supported when the sentence's last word is in the evidence."""
    word = normalize(sentence).split()[-1]
    return any(word in normalize(e).split() for e in evidence)


# ---------------------------------------------------------------- normalization and answers


def test_normalize_follows_squad_and_joins_thousands() -> None:
    assert normalize("The U.S. has 1,100 troops [1].") == "u s has 1100 troops"
    assert normalize("“A new Libya,” he said") == "new libya he said"
    assert normalize("al-Qaida's") == "al qaida s"


def test_containment_needs_whole_tokens() -> None:
    assert contains("The United States has 1,100 troops there.", "1,100")
    assert contains("about 1100 troops", "1,100")
    assert not contains("about 11,000 troops", "1,100")
    assert not contains("it has 100 soldiers", "10")
    assert not contains("anything", "")


def test_any_answer_counts_unless_all_answers() -> None:
    gold = item(answers=["Salifou Mody", "Mody"])
    assert is_correct("Gen. Mody visited Mali.", gold)
    both = item(answers=["Senegal", "Ivory Coast"], all_answers=True)
    assert not is_correct("Senegal is willing to join.", both)
    assert is_correct("Senegal and Ivory Coast are willing.", both)
    assert not is_correct("something", item(answerable=False, answers=[], sources=[]))


def test_token_f1() -> None:
    gold = item(answers=["Victoria Nuland", "Nuland"])
    assert token_f1("Nuland", gold) == 1.0
    assert token_f1("Victoria Nuland was refused", gold) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert token_f1("", gold) == 0.0
    both = item(answers=["Senegal", "Ivory Coast"], all_answers=True)
    assert token_f1("Senegal and Ivory Coast", both) == pytest.approx(2 * 0.75 / 1.75)


# ---------------------------------------------------------------- sources


def test_needed_and_hits_any_one_source_suffices_unless_all_answers() -> None:
    one = item(sources=[A, B])
    assert needed(one) == 1
    assert source_hits([B, C], one) == 1
    assert source_hits([C], one) == 0
    both = item(sources=[A, B], all_answers=True, answers=["x", "y"])
    assert needed(both) == 2
    assert source_hits([A, A, C], both) == 1


def test_reciprocal_rank() -> None:
    gold = item(sources=[B])
    assert reciprocal_rank([A, A, B], gold) == pytest.approx(1 / 3)
    assert reciprocal_rank([B], gold) == 1.0
    assert reciprocal_rank([A, C], gold) == 0.0


def test_sentences_keep_their_markers() -> None:
    text = "Gen. Salifou Mody visited Mali. [1] The U.S. has 1,100 troops [2][3]. Uncited."
    sentences = split_sentences(text)
    assert sentences == [
        "Gen. Salifou Mody visited Mali. [1]",
        "The U.S. has 1,100 troops [2][3].",
        "Uncited.",
    ]
    assert [markers(s) for s in sentences] == [[1], [2, 3], []]
    assert markers("x [1, 2]") == [1, 2]


# ---------------------------------------------------------------- scoring one answer


def test_correct_cited_answer() -> None:
    got = score(item(), answer("The United States has 1,100 troops [1].", cite(1, A)), always, {})
    assert got.correct and not got.refused and not got.miss
    assert (got.cited, got.cited_gold, got.hits, got.needed) == ([A], 1, 1, 1)
    assert (got.sentences, got.supported) == (1, 1)


def test_answer_without_citations_is_unsupported() -> None:
    got = score(item(), answer("The United States has 1,100 troops."), always, {})
    assert got.correct
    assert got.cited == [] and got.hits == 0
    assert (got.sentences, got.supported) == (1, 0)


def test_refusal_on_answerable_question_is_a_miss() -> None:
    got = score(item(), answer(REFUSAL, refused=True), always, {})
    assert got.refused and not got.correct and got.miss
    assert got.f1 == 0.0 and got.sentences == 0


def test_unanswerable_refused_is_not_a_miss_answered_is() -> None:
    gold = item(answerable=False, answers=[], sources=[])
    assert not score(gold, answer(REFUSAL, refused=True), always, {}).miss
    assert score(gold, answer("Niger has 25 million people [1].", cite(1, A)), always, {}).miss


def test_support_uses_the_cited_chunk_texts() -> None:
    text = "France has 1,500 soldiers [1]. The U.S. has 1,100 troops [2]."
    got = score(
        item(),
        answer(text, cite(1, A, "a0"), cite(2, B, "b0")),
        by_word,
        {"a0": "France has 1,500 soldiers in Niger", "b0": "nothing about it"},
    )
    assert (got.sentences, got.supported) == (2, 1)
    assert got.cited == [A, B] and got.cited_gold == 1


def test_all_answers_with_two_sources() -> None:
    gold = item(answers=["Nuland", "Washington Post"], sources=[A, B], all_answers=True)
    half = score(gold, answer("Nuland was refused [1].", cite(1, A)), always, {})
    assert not half.correct and (half.hits, half.needed) == (1, 2)
    full = score(
        gold, answer("Nuland [1]. The Washington Post [2].", cite(1, A), cite(2, B)), always, {}
    )
    assert full.correct and (full.hits, full.needed) == (2, 2)


def test_citations_outside_the_date_range_are_counted() -> None:
    august = item(date_from="2023-08-01", date_to="2023-08-31")
    text = "1,100 troops [1][2][3]."
    cites = (cite(1, A, day=date(2023, 8, 6)), cite(2, B, day=date(2023, 11, 7)), cite(3, C))
    got = score(august, answer(text, *cites), always, {})
    assert (got.citations, got.out_of_range) == (3, 2)  # November, and the undated article
    assert score(item(), answer(text, *cites), always, {}).out_of_range == 0


# ---------------------------------------------------------------- aggregation


def outcomes() -> list[Outcome]:
    answerable = item()
    unanswerable = item(id="u", answerable=False, answers=[], sources=[])
    return [
        score(answerable, answer("It has 1,100 troops [1].", cite(1, A)), always, {}),
        score(
            answerable, answer("It has 1,500 troops [1][2].", cite(1, A), cite(2, B)), always, {}
        ),
        score(answerable, answer(REFUSAL, refused=True), always, {}),
        score(answerable, answer("It has 1,100 troops.", dropped=1), always, {}),
        score(unanswerable, answer(REFUSAL, refused=True), always, {}),
        score(unanswerable, answer("Niger has 25 million people [1].", cite(1, C)), always, {}),
    ]


def test_summarize_counts_every_ratio() -> None:
    m = summarize(outcomes())
    assert (m["answer_contains_gold"].count, m["answer_contains_gold"].total) == (2, 4)
    assert (m["citation_precision"].count, m["citation_precision"].total) == (2, 3)
    assert (m["citation_recall"].count, m["citation_recall"].total) == (2, 2)
    assert (m["uncited_answers"].count, m["uncited_answers"].total) == (1, 3)
    assert (m["citation_support"].count, m["citation_support"].total) == (3, 4)
    assert (m["refusal_precision"].count, m["refusal_precision"].total) == (1, 2)
    assert (m["refusal_recall"].count, m["refusal_recall"].total) == (1, 2)
    assert (m["false_refusal_rate"].count, m["false_refusal_rate"].total) == (1, 4)
    assert (m["dropped_sentences"].count, m["dropped_sentences"].total) == (1, 4)
    assert m["answer_contains_gold"].value == 0.5
    assert m["answer_contains_gold"].show() == "0.500 (2/4)"


def test_empty_denominators_are_none_not_zero() -> None:
    m = summarize([score(item(), answer(REFUSAL, refused=True), always, {})])
    assert m["citation_precision"].value is None
    assert m["refusal_recall"].value is None
    assert m["refusal_recall"].show() == "- (0/0)"
    assert m["false_refusal_rate"].value == 1.0


# ---------------------------------------------------------------- gold files


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_gold_reads_dates_and_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            json.dumps({"id": "a", "question": "q?", "answers": ["x"], "sources": [A],
                        "answerable": True, "date_to": "2023-08-31"}),
            "",
            json.dumps({"id": "b", "question": "r?", "answers": [], "sources": [],
                        "answerable": False}),
        ],
    )  # fmt: skip
    gold = load_gold(path)
    assert [g.id for g in gold] == ["a", "b"]
    assert gold[0].date_to == date(2023, 8, 31) and gold[0].all_answers is False


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("{not json", "line 2"),
        (
            '{"id": "b", "question": "q", "answers": ["x"], "sources": [], "answerable": true}',
            "source",
        ),
        ('{"id": "b", "question": "q", "answer": ["x"], "sources": ["s"]}', "answer"),
        (
            '{"id": "a", "question": "q", "answers": [], "sources": [], "answerable": false}',
            "duplicate",
        ),
    ],
)
def test_load_gold_names_the_bad_line(tmp_path: Path, line: str, words: str) -> None:
    first = '{"id": "a", "question": "q", "answers": [], "sources": [], "answerable": false}'
    with pytest.raises(InputError, match=words):
        load_gold(write(tmp_path, [first, line]))


def test_seed_gold_set_is_valid_and_honest() -> None:
    """The committed gold set: enough questions of each kind, answers present in their sources."""
    from qa.ingest.corpus import read_paths

    gold = load_gold(ROOT / "eval/gold/seeds.jsonl")
    seeds = ROOT / "seeds"
    texts = {a.source: a.text for a in read_paths(sorted(seeds.iterdir()), seeds).articles}
    assert len(gold) >= 60
    assert sum(not g.answerable for g in gold) >= 15
    assert {s for g in gold for s in g.sources} == set(texts)
    assert sum(g.all_answers and len(g.sources) == 2 for g in gold) >= 5
    assert sum(bool(g.date_from or g.date_to) or "2023" in g.question for g in gold) >= 8
    for g in gold:
        if g.answerable:  # every answer (all, for all_answers) appears in a cited source...
            found = [any(contains(texts[s], a) for s in g.sources) for a in g.answers]
            assert all(found) if g.all_answers else any(found), g.id
            # ...and every listed source holds at least one answer
            assert all(any(contains(texts[s], a) for a in g.answers) for s in g.sources), g.id


# ---------------------------------------------------------------- thresholds and deltas


def report(accuracy: float, false_refusals: float) -> Report:
    from qa.evaluation import BackendReport, RetrievalReport

    metrics = {
        "answer_contains_gold": Metric(value=accuracy, count=accuracy * 10, total=10),
        "false_refusal_rate": Metric(value=false_refusals, count=false_refusals * 10, total=10),
    }
    return Report(
        created="now",
        gold="g.jsonl",
        questions=10,
        answerable=10,
        top_k=5,
        retrieval={
            "hybrid": RetrievalReport(
                recall=Metric(value=0.9, count=9, total=10),
                mrr=Metric(value=0.8, count=8, total=10, kind="mean"),
            )
        },
        backends={"extractive": BackendReport(metrics=metrics, latency_ms={}, outcomes=[])},
    )


def test_fail_under_and_over() -> None:
    rep = report(0.8, 0.2)
    assert check_thresholds(rep, ["answer_contains_gold=0.8"]) == []
    assert check_thresholds(rep, ["extractive:answer_contains_gold=0.85"]) == [
        "extractive:answer_contains_gold = 0.800 is below 0.85"
    ]
    assert check_thresholds(rep, over=["false_refusal_rate=0.1"])
    assert check_thresholds(rep, ["retrieval_recall_hybrid=0.95"])
    with pytest.raises(InputError, match="unknown metric"):
        check_thresholds(rep, ["accuracy=0.8"])
    with pytest.raises(InputError, match="METRIC=VALUE"):
        check_thresholds(rep, ["answer_contains_gold"])


def test_deltas_against_an_earlier_report() -> None:
    change = deltas(report(0.9, 0.1), report(0.8, 0.2))
    assert change["extractive:answer_contains_gold"] == pytest.approx(0.1)
    assert change["extractive:false_refusal_rate"] == pytest.approx(-0.1)
    assert change["retrieval_recall_hybrid"] == 0.0


# ---------------------------------------------------------------- the runner, on a scripted engine


class CannedEngine:
    """Answers from a script keyed by question; retrieval returns fixed source rankings."""

    def __init__(self, answers: dict[str, Answer], ranked: dict[str, list[str]]) -> None:
        self.answers = answers
        self.ranked = ranked
        self.requests: list[AskRequest] = []
        self.modes: list[str] = []
        self.as_of: list[date | None] = []

    settings = None  # the runner is handed the support check and the chunk fetch instead

    def supports(self, sentence: str, evidence: Sequence[str]) -> bool:
        raise AssertionError("a canned engine verifies nothing: pass the support check")

    def chunk_texts(self, ids: list[str]) -> dict[str, str]:
        raise AssertionError("a canned engine stores nothing: pass the chunk fetch")

    def ask(self, request: AskRequest) -> Answer:
        self.requests.append(request)
        if request.question not in self.answers:
            raise BackendError(f"no scripted answer for {request.question!r}")
        return self.answers[request.question]

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        mode: str = "hybrid",
        as_of: date | None = None,
    ) -> list[SimpleNamespace]:
        self.modes.append(mode)
        self.as_of.append(as_of)
        return [SimpleNamespace(source=s) for s in self.ranked[question][:top_k]]


def test_runner_passes_dates_and_backend_and_scores() -> None:
    gold = [
        item(
            id="a", question="Q1?", date_from="2023-08-01", date_to="2023-08-31", as_of="2023-09-04"
        ),
        item(id="b", question="Q2?", answerable=False, answers=[], sources=[]),
    ]
    engine = CannedEngine(
        {
            "Q1?": answer("1,100 troops [1].", cite(1, A, "c1")),
            "Q2?": answer(REFUSAL, refused=True),
        },
        {"Q1?": [B, A, C], "Q2?": [C]},
    )
    fetched: list[list[str]] = []

    def fetch(ids: list[str]) -> dict[str, str]:
        fetched.append(ids)
        return {"c1": "1,100 troops"}

    rep = evaluate_backend(engine, gold, "llamacpp", 3, by_word, fetch)
    first = engine.requests[0]
    assert (first.backend, first.top_k, first.date_from, first.date_to) == (
        "llamacpp", 3, date(2023, 8, 1), date(2023, 8, 31),
    )  # fmt: skip
    assert first.as_of == date(2023, 9, 4)  # the gold question's moment
    assert engine.requests[1].as_of is None  # none in the gold: the engine's default (today)
    assert fetched == [["c1"]]
    assert rep.metrics["answer_contains_gold"].value == 1.0
    assert rep.metrics["refusal_recall"].value == 1.0
    assert rep.metrics["citation_support"].count == 1
    assert set(rep.latency_ms) == {"wall", "retrieve", "total"}

    retrieval = evaluate_retrieval(engine, gold, top_k=2, modes=["hybrid", "dense"])
    assert engine.modes == ["hybrid", "dense"]  # unanswerable questions are not retrieved
    assert engine.as_of == [date(2023, 9, 4)] * 2
    assert retrieval["dense"].recall.show() == "1.000 (1/1)"
    assert retrieval["hybrid"].mrr.value == 0.5
    assert evaluate_retrieval(engine, gold, top_k=1, modes=["hybrid"])["hybrid"].recall.value == 0


def test_backend_failure_is_an_error_outcome_not_a_crash() -> None:
    engine = CannedEngine({"Q1?": answer("1,100 troops [1].", cite(1, A))}, {})
    gold = [item(id="a", question="Q1?"), item(id="b", question="Q2?")]
    ticks: list[int] = []
    rep = evaluate_backend(
        engine, gold, "openai", None, always, lambda ids: {}, lambda d, t: ticks.append(d)
    )
    assert ticks == [1, 2]
    broken = rep.outcomes[1]
    assert broken.error and "BackendError" in broken.error and broken.miss
    assert rep.metrics["errors"].show() == "0.500 (1/2)"
    assert rep.metrics["answer_contains_gold"].show() == "1.000 (1/1)"


# ---------------------------------------------------------------- the command line, no model


def test_eval_needs_gold_and_rejects_a_bad_one(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(eval_app, [])
    assert result.exit_code == 2 and "--gold" in result.output
    bad = write(tmp_path, ["{oops"])
    result = runner.invoke(eval_app, ["--gold", str(bad)])
    assert result.exit_code == 2 and "line 1" in result.output
    result = runner.invoke(eval_app, ["--gold", str(bad), "--backend", "gpt9"])
    assert result.exit_code == 2 and "unknown backend" in result.output
