"""Timeline gold questions and their metrics (qa/evaluation/timeline.py), on hand-made answers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.errors import InputError
from qa.evaluation import GoldItem, contains, evaluate_backend, load_gold
from qa.evaluation.timeline import score_timeline, summarize_timeline
from qa.schema import Answer, Citation, TimelineEvent
from tests.test_evaluation import CannedEngine, answer, item

ROOT = Path(__file__).resolve().parent.parent
AUG, NOV = date(2023, 8, 6), date(2023, 11, 7)


def gold(**kw: object) -> GoldItem:
    values: dict[str, object] = {
        "id": "t1",
        "kind": "timeline",
        "question": "How did the standoff develop?",
        "events": [
            {"date": "2023-08-06", "answers": ["intervention plan"]},
            {"date": "2023-11-07", "answers": ["one-week ultimatum"]},
            {"date": None, "answers": ["Sunday deadline"]},
        ],
    }
    values.update(kw)
    return GoldItem.model_validate(values)


def cite(n: int, day: date | None) -> Citation:
    return Citation(
        n=n, source=f"{n}.txt", date=day, title=None, chunk_id=f"c{n}", start=0, end=1, quote="x"
    )


def timeline(*events: tuple[date | None, str, list[int]], refused: bool = False) -> Answer:
    lines = [TimelineEvent(date=d, text=t, citations=c) for d, t, c in events]
    days = {n: d for d, _, c in events for n in c}
    return Answer(
        answer="\n".join(t for _, t, _ in events),
        refused=refused,
        citations=[cite(n, days[n]) for n in sorted(days)],
        backend="extractive",
        mode="timeline",
        events=lines,
    )


def test_timeline_gold_needs_events_not_answers() -> None:
    assert gold().events[2].date is None and gold().answers == []
    with pytest.raises(ValueError, match="at least one event"):
        gold(events=[])


def test_an_event_counts_only_on_a_line_with_its_date() -> None:
    reply = timeline(
        (AUG, "ECOWAS drew up an intervention plan.", [1]),
        (date(2023, 11, 10), "ECOWAS gave a one-week ultimatum.", [2]),  # right words, wrong date
        (None, "ECOWAS set a Sunday deadline.", [3]),
    )
    outcome = score_timeline(gold(), reply)
    assert (outcome.events_found, outcome.events_needed) == (2, 3)
    assert (outcome.pairs_ordered, outcome.pairs) == (3, 3)
    assert outcome.events_dated == 3 and outcome.timeline and not outcome.correct


def test_order_and_dating_are_counted_per_pair_and_per_line() -> None:
    reply = timeline(
        (None, "ECOWAS set a Sunday deadline.", [1]),
        (NOV, "ECOWAS gave a one-week ultimatum.", [2]),
        (AUG, "ECOWAS drew up an intervention plan.", [3, 4]),
    )
    reply.citations[3] = cite(4, None)  # a merged line: its oldest article dates it
    outcome = score_timeline(gold(), reply)
    assert outcome.events_found == 3 and outcome.correct
    assert (outcome.pairs_ordered, outcome.pairs) == (0, 3)
    assert outcome.events_dated == 3
    wrong = timeline((NOV, "ECOWAS drew up an intervention plan.", [1]))
    wrong.citations[0] = cite(1, AUG)
    assert score_timeline(gold(), wrong).events_dated == 0


def test_a_refusal_or_a_plain_answer_finds_no_event() -> None:
    refused = score_timeline(gold(), timeline(refused=True))
    assert refused.refused and refused.events_found == 0
    plain = score_timeline(gold(), answer("ECOWAS set a Sunday deadline [1].", cite(1, None)))
    assert not plain.timeline and plain.events_found == 0


def test_a_mixed_gold_file_reports_answer_and_timeline_metrics_apart() -> None:
    engine = CannedEngine(
        {
            "How did the standoff develop?": timeline((AUG, "An intervention plan.", [1])),
            "How many troops does the United States have in Niger?": answer(
                "1,100 troops [1].", cite(1, None)
            ),
        },
        {},
    )
    rep = evaluate_backend(
        engine, [gold(), item()], "extractive", None, lambda s, e: True, lambda ids: {}
    )
    assert rep.metrics["answer_contains_gold"].show() == "1.000 (1/1)"
    assert rep.metrics["timeline_event_recall"].show() == "0.333 (1/3)"
    assert rep.metrics["timeline_detected"].show() == "1.000 (1/1)"
    assert engine.requests[0].mode is None  # detection, as a user's question would be
    only = evaluate_backend(engine, [gold()], "extractive", None, lambda s, e: True, lambda ids: {})
    assert "answer_contains_gold" not in only.metrics and "timeline_order" in only.metrics
    assert set(summarize_timeline([])) >= {"timeline_event_recall", "timeline_refused"}


def test_seed_timeline_gold_is_honest() -> None:
    """Every event phrase is in the seed article of that date (null: the undated one)."""
    from qa.ingest.corpus import read_paths

    items = load_gold(ROOT / "eval/gold/seeds-timeline.jsonl")
    seeds = ROOT / "seeds"
    articles = read_paths(sorted(seeds.iterdir()), seeds).articles
    by_date = {a.date: a.text for a in articles}
    assert len(by_date) == len(articles)  # one article per date in the seeds
    assert 4 <= len(items) <= 6 and all(i.kind == "timeline" for i in items)
    for i in items:
        assert len(i.events) >= 3, i.id
        for event in i.events:
            for phrase in event.answers:
                assert contains(by_date[event.date], phrase), (i.id, event.date, phrase)


def test_a_bad_timeline_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text('{"id": "t", "kind": "timeline", "question": "Timeline of it"}\n')
    with pytest.raises(InputError, match="line 1"):
        load_gold(path)
