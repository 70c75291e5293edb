"""Changing-facts metrics: is an answer right for its `as_of`, does it give a value that was
already superseded by then, and are the newer reports it lists real changes (per the gold's
`answers`, `stale_answers` and `changed_by`, eval/gold/changing-*.jsonl)."""

from __future__ import annotations

from collections.abc import Sequence

from qa.evaluation.answers import contains, normalize
from qa.evaluation.gold import GoldItem
from qa.evaluation.metrics import Metric, Outcome, ratio, split_sentences
from qa.schema import Answer


def is_changing(item: GoldItem) -> bool:
    """A question about a fact whose value changes over time (a changing-facts gold line)."""
    return bool(item.fact or item.stale_answers or item.changed_by)


def _holds(text: str, values: Sequence[str]) -> bool:
    return any(contains(text, v) for v in values)


def age(text: str, item: GoldItem) -> int | None:
    """How many values back the value in `text` is: 0 the value valid at as_of, 1 the one
    before it (`stale_answers` are newest first), ...; None when it holds no gold value."""
    if _holds(text, item.answers):
        return 0
    return next((k + 1 for k, v in enumerate(item.stale_answers) if contains(text, v)), None)


def shown(answer: Answer) -> str:
    """What a reader takes as the answer: the first sentence and the short answer (as in
    `first_sentence_accuracy`)."""
    first = split_sentences(answer.answer)[:1]
    return " ".join(first + ([answer.short_answer.text] if answer.short_answer else []))


def score_changing(item: GoldItem, answer: Answer, outcome: Outcome) -> Outcome:
    """Add the changing-fact fields to a scored outcome."""
    if answer.refused:
        return outcome.model_copy(
            update={"changing": True, "can_be_stale": bool(item.stale_answers)}
        )
    said = shown(answer)
    current = _holds(said, item.answers)
    stale = not current and _holds(said, item.stale_answers)
    own = age(said, item)
    mine = normalize(answer.short_answer.text) if answer.short_answer else ""
    real = 0
    for report in answer.newer:
        value = age(report.short_answer, item)
        # real: a gold value newer than the one answered; after a wrong answer (no gold value),
        # only the value valid at as_of
        if value is not None and (value < own if own is not None else value == 0):
            real += normalize(report.short_answer) != mine
    return outcome.model_copy(
        update={
            "changing": True,
            "can_be_stale": bool(item.stale_answers),
            "as_of_correct": current,
            "stale": stale,
            "newer": [r.short_answer for r in answer.newer],
            "newer_real": real,
            "newer_current": any(_holds(r.short_answer, item.answers) for r in answer.newer),
        }
    )


def summarize_changing(outcomes: Sequence[Outcome]) -> dict[str, Metric]:
    """as_of_accuracy, stale_answer_rate, newer_report_precision and newer_report_recall over
    the changing-fact questions among `outcomes` (none: no metrics)."""
    changing = [o for o in outcomes if o.changing and not o.error]
    if not changing:
        return {}
    can_be_stale = [o for o in changing if o.can_be_stale]
    stale = [o for o in changing if o.stale]
    return {
        "as_of_accuracy": ratio(sum(o.as_of_correct for o in changing), len(changing)),
        "stale_answer_rate": ratio(len(stale), len(can_be_stale)),
        "newer_report_precision": ratio(
            sum(o.newer_real for o in changing), sum(len(o.newer) for o in changing)
        ),
        "newer_report_recall": ratio(sum(o.newer_current for o in stale), len(stale)),
        "newer_reports_listed": ratio(sum(bool(o.newer) for o in changing), len(changing)),
    }
