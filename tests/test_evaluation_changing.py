"""Changing-facts metrics (qa/evaluation/changing.py) on hand-made fixtures: a made-up ferry
fare that went 4 -> 5 -> 7 euros, and a harbour master replaced twice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from qa.evaluation.changing import age, is_changing, score_changing, summarize_changing
from qa.evaluation.gold import GoldItem, load_gold
from qa.evaluation.metrics import LOWER_IS_BETTER, Outcome, score
from qa.evaluation.realtimeqa import DUMP
from qa.evaluation.runner import evaluate_backend
from qa.schema import Answer, Citation, NewerReport, ShortAnswer
from tests.test_evaluation import CannedEngine

GOLD = Path(__file__).resolve().parents[1] / "eval" / "gold"
FARE = {
    "id": "fare-3",
    "fact": "fare",
    "question": "What does the ferry ticket cost?",
    "answers": ["7 euros"],
    "sources": ["jul.txt"],
    "as_of": "2024-07-10",
    "stale_answers": ["5 euros", "4 euros"],  # newest first
    "stale_sources": ["may.txt", "mar.txt"],
}


def item(**kw: object) -> GoldItem:
    return GoldItem.model_validate(FARE | kw)


def cite(n: int, source: str, day: date) -> Citation:
    return Citation(
        n=n, source=source, date=day, title=None, chunk_id=f"{source}:0", start=0, end=9, quote="q"
    )


def reply(text: str, short: str | None, *newer: tuple[date, str], refused: bool = False) -> Answer:
    cited = cite(1, "may.txt", date(2024, 5, 2))
    reports = [
        NewerReport(date=d, short_answer=s, citation=cite(2 + k, f"n{k}.txt", d))
        for k, (d, s) in enumerate(newer)
    ]
    return Answer(
        answer=text,
        short_answer=ShortAnswer(text=short, n=1, start=0, end=len(short)) if short else None,
        refused=refused,
        citations=[] if refused else [cited],
        backend="extractive",
        newer=reports,
    )


def always(sentence: str, evidence: Sequence[str]) -> bool:
    return True


def scored(gold: GoldItem, answer: Answer) -> Outcome:
    return score_changing(gold, answer, score(gold, answer, always, {}))


def test_the_value_valid_at_as_of_is_right_and_not_stale() -> None:
    o = scored(item(), reply("A ticket costs 7 euros [1].", "7 euros"))
    assert o.changing and o.can_be_stale and o.as_of_correct and not o.stale


def test_a_superseded_value_is_stale_and_wrong() -> None:
    o = scored(item(), reply("A ticket costs 5 euros since May [1].", "5 euros"))
    assert o.stale and not o.as_of_correct


def test_a_value_never_reported_is_wrong_but_not_stale() -> None:
    o = scored(item(), reply("A ticket costs 9 euros [1].", "9 euros"))
    assert not o.stale and not o.as_of_correct


def test_a_refusal_is_neither_right_nor_stale_but_counts_in_the_denominators() -> None:
    o = scored(item(), reply("I don't know.", None, refused=True))
    assert o.changing and o.can_be_stale and not o.as_of_correct and not o.stale
    metrics = summarize_changing([o])
    assert metrics["as_of_accuracy"].value == 0.0 and metrics["stale_answer_rate"].value == 0.0


def test_ages_count_back_from_the_value_valid_at_as_of() -> None:
    gold = item()
    assert [age(t, gold) for t in ("7 euros", "5 euros", "4 euros", "6 euros")] == [0, 1, 2, None]


def test_a_newer_report_of_a_newer_value_is_real_an_older_one_is_not() -> None:
    june, july = date(2024, 6, 1), date(2024, 7, 1)
    stale = scored(item(), reply("It costs 5 euros [1].", "5 euros", (july, "7 euros")))
    assert stale.newer == ["7 euros"] and stale.newer_real == 1 and stale.newer_current
    # the answer is already the newest value: an older value reported later is no change
    right = scored(item(), reply("It costs 7 euros [1].", "7 euros", (june, "4 euros")))
    assert right.newer_real == 0 and not right.newer_current
    # a newer report of something that is no value of the fact is not a change either
    noise = scored(item(), reply("It costs 4 euros [1].", "4 euros", (june, "2 ferries")))
    assert noise.newer_real == 0
    # after a wrong answer, only the value valid at as_of is a real change, not an older one
    wrong = scored(item(), reply("It costs 9 euros [1].", "9 euros", (june, "5 euros")))
    fixed = scored(item(), reply("It costs 9 euros [1].", "9 euros", (july, "7 euros")))
    assert (wrong.newer_real, fixed.newer_real) == (0, 1)
    metrics = summarize_changing([stale, right, noise])
    assert metrics["newer_report_precision"].count == 1
    assert metrics["newer_report_precision"].total == 3
    assert metrics["stale_answer_rate"].value == pytest.approx(2 / 3)  # 5 and 4 were superseded
    assert metrics["newer_report_recall"].value == pytest.approx(1 / 2)  # of the 2 stale answers
    assert metrics["as_of_accuracy"].value == pytest.approx(1 / 3)


def test_a_first_value_cannot_be_stale_and_plain_questions_are_not_changing() -> None:
    first = item(id="fare-1", answers=["4 euros"], stale_answers=[], stale_sources=[])
    o = scored(first, reply("It costs 4 euros [1].", "4 euros"))
    assert o.as_of_correct and not o.can_be_stale
    assert summarize_changing([o])["stale_answer_rate"].value is None  # 0/0 shown as n/a
    plain = GoldItem.model_validate(
        {"id": "p", "question": "q?", "answers": ["a"], "sources": ["s"]}
    )
    assert not is_changing(plain) and summarize_changing([]) == {}
    assert "stale_answer_rate" in LOWER_IS_BETTER


def test_the_runner_adds_the_metrics_for_changing_questions_only() -> None:
    gold = [item(), item(id="fare-x", fact=None, stale_answers=[], stale_sources=[])]
    canned = {g.question: reply("It costs 5 euros [1].", "5 euros") for g in gold}
    engine = CannedEngine(canned, {})
    rep = evaluate_backend(engine, gold, "extractive", None, always, lambda ids: {})
    assert rep.metrics["stale_answer_rate"].show() == "1.000 (1/1)"
    assert rep.metrics["as_of_accuracy"].total == 1


@pytest.mark.parametrize("split", ["dev", "test"])
def test_the_committed_changing_facts_gold_is_consistent(split: str) -> None:
    items = load_gold(GOLD / f"changing-{split}.jsonl")
    assert all(is_changing(i) and i.as_of and i.fact for i in items)
    for i in items:  # every answer and stale value is dated by its sources, up to as_of
        assert i.sources and all(s.startswith(f"{DUMP}#") for s in i.sources)
        assert not set(i.answers) & set(i.stale_answers)
        if i.changed_by:
            assert i.as_of and i.changed_by.date > i.as_of
        assert bool(i.stale_answers) == bool(i.stale_sources)


def test_dev_and_test_share_no_fact_and_hold_30_questions() -> None:
    dev, test = (load_gold(GOLD / f"changing-{s}.jsonl") for s in ("dev", "test"))
    assert not {i.fact for i in dev} & {i.fact for i in test}
    assert len(dev) + len(test) >= 30
    by_fact: dict[str | None, set[object]] = {}
    for i in dev + test:
        by_fact.setdefault(i.fact, set()).add(i.as_of)
    assert all(len(days) >= 2 for days in by_fact.values())  # each fact asked at 2+ moments
    listed = (GOLD / "changing-articles.txt").read_text(encoding="utf-8")
    ids = {line.strip() for line in listed.splitlines() if not line.startswith("#")}
    cited = {s.split("#", 1)[1] for i in dev + test for s in i.sources + i.stale_sources}
    assert cited <= ids  # the corpus the prepare step builds holds every cited article
    assert json.loads((GOLD / "changing-dev.jsonl").read_text().splitlines()[0])["as_of"]
