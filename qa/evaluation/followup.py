"""Follow-up metrics: the last turn of a conversation asked with its history (the engine
condenses it), and, as the baseline, asked as the pre-issue-30 condensing rewrote it."""

from __future__ import annotations

from collections.abc import Sequence

from qa.evaluation.answers import is_correct, normalize
from qa.evaluation.gold import GoldItem
from qa.evaluation.legacy_followup import condense_rules
from qa.evaluation.metrics import Metric, Outcome, ratio, split_sentences
from qa.schema import Answer, AskRequest


def followup_request(item: GoldItem, backend: str, top_k: int | None) -> AskRequest:
    """The last turn with its conversation, as a client (chat page, OpenAI messages) sends it."""
    return AskRequest(
        question=item.question,
        history=item.history,
        top_k=top_k,
        date_from=item.date_from,
        date_to=item.date_to,
        as_of=item.as_of,
        backend=backend,
    )


def baseline_request(item: GoldItem, backend: str, top_k: int | None) -> AskRequest:
    """The last turn rewritten by the old rule-based condensing, asked alone."""
    request = followup_request(item, backend, top_k)
    question = condense_rules(item.history, item.question)[:2000]
    return request.model_copy(update={"question": question, "history": []})


def shown(answer: Answer) -> str:
    """The answer's first sentence and short answer: what `first_sentence_accuracy` reads."""
    first = split_sentences(answer.answer)[:1]
    return " ".join(first + ([answer.short_answer.text] if answer.short_answer else []))


def add_followup(outcome: Outcome, item: GoldItem, answer: Answer, baseline: Answer) -> Outcome:
    """The follow-up fields of an outcome already scored by `metrics.score`."""
    same = None
    if item.standalone and answer.question:
        same = normalize(answer.question) == normalize(item.standalone)
    return outcome.model_copy(
        update={
            "kind": "followup",
            "condensed": answer.question,
            "condensed_standalone": same,
            "baseline_condensed": baseline.question,
            "baseline_correct": not baseline.refused and is_correct(baseline.answer, item),
            "baseline_first_correct": not baseline.refused and is_correct(shown(baseline), item),
        }
    )


def summarize_followups(outcomes: Sequence[Outcome]) -> dict[str, Metric]:
    """The last turn's answer holds the gold (anywhere; in its first sentence or short answer),
    with the baseline condensing beside it, and how often the condensed question is the gold
    standalone one."""
    ok = [o for o in outcomes if not o.error]
    compared = [o for o in ok if o.condensed_standalone is not None]
    return {
        "followup_accuracy": ratio(sum(o.correct for o in ok), len(ok)),
        "followup_first_sentence_accuracy": ratio(sum(o.first_correct for o in ok), len(ok)),
        "followup_accuracy_baseline": ratio(sum(o.baseline_correct for o in ok), len(ok)),
        "followup_first_sentence_baseline": ratio(
            sum(o.baseline_first_correct for o in ok), len(ok)
        ),
        "followup_false_refusal_rate": ratio(sum(o.refused for o in ok), len(ok)),
        "followup_condensed_is_standalone": ratio(
            sum(bool(o.condensed_standalone) for o in compared), len(compared)
        ),
    }
