"""Timeline metrics: gold events found on a line carrying the right date, lines in date order
(undated last), lines dated by the articles they cite, and how often a timeline was given."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from qa.evaluation.answers import contains
from qa.evaluation.gold import GoldItem
from qa.evaluation.metrics import Metric, Outcome, ratio
from qa.schema import Answer
from qa.search.dates import order_key


def score_timeline(item: GoldItem, answer: Answer, wall_ms: float = 0.0) -> Outcome:
    """Score a timeline answer against its gold events."""
    events = [] if answer.refused else answer.events
    found = sum(
        any(e.date == gold.date and any(contains(e.text, a) for a in gold.answers) for e in events)
        for gold in item.events
    )
    dates = {c.n: c.date for c in answer.citations}
    dated = sum(
        e.date == min((dates.get(n) for n in e.citations), key=order_key, default=None)
        for e in events
    )
    pairs = list(combinations(events, 2))
    cited = list(dict.fromkeys(c.source for c in answer.citations))
    return Outcome(
        id=item.id,
        kind="timeline",
        question=item.question,
        answerable=True,
        expected=[a for gold in item.events for a in gold.answers],
        sources=item.sources,
        answer=answer.answer,
        refused=answer.refused,
        cited=cited,
        citations=len(answer.citations),
        correct=found == len(item.events),
        timings_ms=answer.timings_ms,
        wall_ms=wall_ms,
        timeline=answer.mode == "timeline",
        events=len(events),
        events_found=found,
        events_needed=len(item.events),
        events_dated=dated,
        pairs_ordered=sum(order_key(a.date) <= order_key(b.date) for a, b in pairs),
        pairs=len(pairs),
    )


def summarize_timeline(outcomes: Sequence[Outcome]) -> dict[str, Metric]:
    """Event recall, order, dating and detection over the timeline questions."""
    ok = [o for o in outcomes if not o.error]
    return {
        "timeline_event_recall": ratio(
            sum(o.events_found for o in ok), sum(o.events_needed for o in ok)
        ),
        "timeline_order": ratio(sum(o.pairs_ordered for o in ok), sum(o.pairs for o in ok)),
        "timeline_events_dated": ratio(sum(o.events_dated for o in ok), sum(o.events for o in ok)),
        "timeline_detected": ratio(sum(o.timeline for o in ok), len(ok)),
        "timeline_refused": ratio(sum(o.refused for o in ok), len(ok)),
        "errors": ratio(len(outcomes) - len(ok), len(outcomes)),
    }
