"""followup_accuracy: a fixture gold file of made-up conversations, scored on hand-made
answers (no model), and through the runner with a scripted engine."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from qa.errors import InputError
from qa.evaluation import evaluate_backend, load_gold, score
from qa.evaluation.followup import add_followup, summarize_followups
from qa.schema import REFUSAL, Answer, AskRequest, Citation

SRC = "007_harbour.txt"
GOLD = [
    {
        "id": "f1",
        "kind": "followup",
        "corpus": "fixture",
        "history": [
            {"role": "user", "content": "Who is the mayor of Port Quillan?"},
            {"role": "assistant", "content": "Ines Marchetti [1]"},
        ],
        "question": "When did she open the lighthouse?",
        "standalone": "When did Ines Marchetti open the lighthouse?",
        "answers": ["on Saturday"],
        "sources": [SRC],
    },
    {
        "id": "f2",
        "kind": "followup",
        "history": [
            {"role": "user", "content": "How much did the restoration cost?"},
            {"role": "assistant", "content": "4.2 million euros [1]"},
        ],
        "question": "And how long did it take?",
        "standalone": "How long did the restoration take?",
        "answers": ["two years", "two-year"],
        "sources": [SRC],
    },
]


def _answer(text: str, question: str, refused: bool = False) -> Answer:
    cited = (
        []
        if refused
        else [
            Citation(
                n=1, source=SRC, date=None, title=None, chunk_id="c1", start=0, end=5, quote=text
            )
        ]
    )
    return Answer(
        answer=text, refused=refused, citations=cited, backend="extractive", question=question
    )


def _always(sentence: str, evidence: Sequence[str]) -> bool:
    return True


def _gold(tmp_path: Path) -> Path:
    path = tmp_path / "followups.jsonl"
    path.write_text("\n".join(json.dumps(g) for g in GOLD) + "\n", encoding="utf-8")
    return path


def test_followup_gold_needs_a_history(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**GOLD[0], "history": []}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1"):
        load_gold(bad)
    items = load_gold(_gold(tmp_path))
    assert [i.kind for i in items] == ["followup", "followup"]
    assert items[0].history[1].content == "Ines Marchetti [1]" and items[0].corpus == "fixture"


def test_followup_accuracy_counts_the_last_turn_and_the_baseline(tmp_path: Path) -> None:
    items = load_gold(_gold(tmp_path))
    right = _answer("The lighthouse reopened on Saturday. [1]", items[0].standalone or "")
    wrong = _answer("The restoration cost 4.2 million euros. [1]", "How long did it take?")
    refused = _answer(REFUSAL, "And how long did it take? (restoration cost)", refused=True)
    first = add_followup(score(items[0], right, _always, {}), items[0], right, refused)
    second = add_followup(score(items[1], wrong, _always, {}), items[1], wrong, right)
    assert first.kind == "followup" and first.condensed_standalone is True
    assert second.condensed_standalone is False and second.baseline_condensed
    metrics = summarize_followups([first, second])
    assert metrics["followup_accuracy"].show() == "0.500 (1/2)"
    assert metrics["followup_first_sentence_accuracy"].show() == "0.500 (1/2)"
    assert metrics["followup_accuracy_baseline"].show() == "0.000 (0/2)"  # refused; wrong gold
    assert metrics["followup_condensed_is_standalone"].show() == "0.500 (1/2)"
    assert metrics["followup_false_refusal_rate"].show() == "0.000 (0/2)"


class ScriptedEngine:
    """Answers a follow-up (a request with history) from a script, and refuses anything else
    (the baseline's rewritten questions arrive without history)."""

    def __init__(self, replies: dict[str, Answer]) -> None:
        self.replies = replies
        self.requests: list[AskRequest] = []

    def ask(self, request: AskRequest) -> Answer:
        self.requests.append(request)
        if request.history and request.question in self.replies:
            return self.replies[request.question]
        return _answer(REFUSAL, request.question, refused=True)


@pytest.mark.slow  # the baseline condensing loads spaCy
def test_the_runner_asks_with_the_history_and_scores_the_baseline(tmp_path: Path) -> None:
    items = load_gold(_gold(tmp_path))
    engine = ScriptedEngine(
        {
            "When did she open the lighthouse?": _answer(
                "The lighthouse reopened on Saturday. [1]", "When did Ines Marchetti open it?"
            ),
            "And how long did it take?": _answer(
                "The restoration took two years. [1]", "How long did the restoration take?"
            ),
        }
    )
    report = evaluate_backend(engine, items, "extractive", None, _always, lambda ids: {})  # type: ignore[arg-type]
    asked = [r for r in engine.requests if r.history]
    assert [r.question for r in asked] == [i.question for i in items]
    assert all(not r.history for r in engine.requests if r not in asked)  # the baseline's
    assert report.metrics["followup_accuracy"].show() == "1.000 (2/2)"
    assert report.metrics["followup_accuracy_baseline"].show() == "0.000 (0/2)"
    # "... open it?" is not the gold standalone question; the second is
    assert report.metrics["followup_condensed_is_standalone"].show() == "0.500 (1/2)"
