"""Fit the neural reader's recency prior and refusal threshold on validation questions asked of
the service's own retrieval, and store both in `qa/answer/reader/span_reader.meta.json`.

    .venv/bin/qa eval prepare-realtimeqa --split val
    .venv/bin/qa ingest --corpus .cache/realtimeqa-val/corpus \
        --index-dir .cache/realtimeqa-val/index
    .venv/bin/python -m training.calibrate_reader          # the val weeks only; never test

Each question is asked as of its question date (`date_to` of the gold line): the retriever's
passages are read once by the span model, then the reader's choice is replayed for every
recency weight of the grid. The weight with the best first-sentence accuracy on the answerable
questions wins (ties: the smaller weight); the threshold is then the highest confidence that
refuses at most 10% of the answerable questions.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.answer.engine import Engine
from qa.answer.reader import span
from qa.answer.reader.neural import NeuralReader
from qa.answer.reader.questions import sub_questions
from qa.answer.reader.span import Span
from qa.config import get_settings
from qa.evaluation.answers import is_correct
from qa.evaluation.gold import GoldItem, load_gold
from qa.ingest.index import Index
from qa.types import Passage

log = logging.getLogger("training.calibrate_reader")
ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = (0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
FALSE_REFUSALS = 0.1


class Replay:
    """The span model's answers, read once, replayed under another recency weight."""

    def __init__(self, cache: dict[str, list[list[Span]]], weight: float) -> None:
        self.cache = cache
        self.threshold = float("-inf")
        self.recency_weight = weight

    def spans(self, question: str, passages: Sequence[str], top: int = 5) -> list[list[Span]]:
        return self.cache[question]


def read_all(
    engine: Engine, items: Sequence[GoldItem]
) -> list[tuple[GoldItem, list[Passage], dict[str, list[list[Span]]]]]:
    model = engine.reader.scorer  # type: ignore[attr-defined]
    out = []
    for n, item in enumerate(items):
        passages = engine.retrieve(item.question, None, item.date_from, item.date_to)
        texts = [p.text for p in passages]
        cache = {part: model.spans(part, texts) for part in sub_questions(item.question)}
        out.append((item, passages, cache))
        if n % 20 == 0:
            log.info("read %d/%d", n, len(items))
    return out


def replay(
    rows: Sequence[tuple[GoldItem, list[Passage], dict[str, list[list[Span]]]]], weight: float
) -> list[tuple[bool, bool, float]]:
    """(answerable, first sentence or short answer right, confidence) per question."""
    out = []
    for item, passages, cache in rows:
        reading = NeuralReader(Replay(cache, weight)).read(item.question, passages, item.date_to)
        right = False
        if reading.chosen:
            first = reading.chosen[0]
            text = passages[first.passage].text
            short = text[first.short[0] : first.short[1]] if first.short else ""
            right = is_correct(first.text + " " + short, item)
        out.append((item.answerable, right, reading.confidence))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=ROOT / ".cache/realtimeqa-val/gold.jsonl")
    parser.add_argument("--index-dir", type=Path, default=ROOT / ".cache/realtimeqa-val/index")
    parser.add_argument("--meta", type=Path, default=span.META)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = get_settings().model_copy(update={"index_dir": args.index_dir})
    engine = Engine.open(settings, Index)
    items = [i for i in load_gold(args.gold) if i.kind == "answer"]
    rows = read_all(engine, items)
    by_weight = {}
    for weight in WEIGHTS:
        results = replay(rows, weight)
        answerable = [r for r in results if r[0]]
        by_weight[weight] = sum(r[1] for r in answerable) / max(len(answerable), 1)
        log.info("recency weight %.2f: first-sentence accuracy %.3f", weight, by_weight[weight])
    best = max(WEIGHTS, key=lambda w: (by_weight[w], -w))
    results = replay(rows, best)
    confident = np.array([r[2] for r in results if r[0]])
    threshold = float(np.quantile(confident, FALSE_REFUSALS, method="lower"))
    answerable = [r for r in results if r[0]]
    unanswerable = [r for r in results if not r[0]]
    summary = {
        "questions": len(results),
        "answerable": len(answerable),
        "first_sentence_accuracy_unrefused": round(by_weight[best], 4),
        "first_sentence_accuracy": round(
            sum(r[1] and r[2] >= threshold for r in answerable) / max(len(answerable), 1), 4
        ),
        "false_refusal_rate": round(
            sum(r[2] < threshold for r in answerable) / max(len(answerable), 1), 4
        ),
        "refusal_recall": round(
            sum(r[2] < threshold for r in unanswerable) / max(len(unanswerable), 1), 4
        ),
        "by_recency_weight": {str(w): round(v, 4) for w, v in by_weight.items()},
    }
    meta = json.loads(args.meta.read_text(encoding="utf-8"))
    meta.setdefault("squad_threshold", meta["threshold"])  # the SQuAD validation choice
    meta["recency_weight"] = best
    meta["threshold"] = threshold
    meta["threshold_source"] = (
        f"RealTime QA validation weeks through the service's retrieval ({args.gold.parent.name}): "
        f"at most {FALSE_REFUSALS:.0%} of answerable questions refused "
        "(training/calibrate_reader.py)"
    )
    meta.setdefault("validation", {})["realtimeqa_val_service"] = summary
    args.meta.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"recency_weight": best, "threshold": threshold, **summary}, indent=1))


if __name__ == "__main__":
    main()
