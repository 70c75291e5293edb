"""Fit `qa.answer.newer.AS_WELL` (how well, read alone, a newer quote must answer compared with the
cited one) on the changing-facts dev half; never on the test half.

    .venv/bin/qa eval prepare-realtimeqa --articles eval/gold/changing-articles.txt
    .venv/bin/qa ingest --corpus .cache/changing/corpus --index-dir .cache/changing/index
    .venv/bin/python -m training.fit_newer --gold eval/gold/changing-dev.jsonl

Every question is asked once with the bar at 0, so every candidate the other checks let through
is listed (in the order found) with its ratio; a bar t keeps the candidates found before the
first one under t (the search stops at the first failure, as in `NewerReports.find`). Each bar
of the grid is scored with the gold's changing-fact metrics: the bars with the best F1 of
newer_report_precision and newer_report_recall win, and the chosen bar is the geometric middle
of the lowest and highest of them (the middle of the gap between the ratios it separates).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.answer.engine import Engine
from qa.answer.newer import AS_WELL, NewerReports
from qa.config import get_settings
from qa.evaluation.changing import score_changing, summarize_changing
from qa.evaluation.gold import GoldItem, load_gold
from qa.evaluation.metrics import Outcome, score
from qa.ingest.index import Index
from qa.schema import Answer, AskRequest, NewerReport
from qa.types import Passage

# ratios seen on dev run from ~1 to ~15 (a cited quote often answers poorly read alone)
GRID = (0.0, *(round(float(x), 3) for x in np.geomspace(0.5, 32.0, 37)))


class Traced(NewerReports):
    """NewerReports that records each report's ratio (newer quote alone / cited quote alone)."""

    base = 1.0
    found: list[tuple[NewerReport, float]]
    probs: list[tuple[float, float]]  # (newer quote alone, cited quote alone), for the record

    def find(self, question, answer, dates):
        self.found, self.probs = [], []
        short = answer.short_answer
        if short is not None and 0 < short.n <= len(answer.citations):
            self.base = max(self._alone(question, answer.citations[short.n - 1]), 1e-9)
        return super().find(question, answer, dates)

    def _one(self, question, passages: Sequence[Passage], *args):
        report, source = super()._one(question, passages, *args)
        if report is not None:
            alone = self._alone(question, report.citation)
            self.probs.append((round(alone, 4), round(self.base, 4)))
            self.found.append((report, alone / self.base))
        return report, source


@dataclass
class Asked:
    item: GoldItem
    answer: Answer
    found: list[tuple[NewerReport, float]]  # in the order found

    def at(self, bar: float) -> Answer:
        kept: list[NewerReport] = []
        for report, ratio in self.found:
            if ratio < bar:
                break
            kept.append(report)
        return self.answer.model_copy(update={"newer": kept})


def always(sentence: str, evidence: Sequence[str]) -> bool:
    return True


def grade(asked: Sequence[Asked], bar: float) -> dict[str, float | None]:
    outcomes: list[Outcome] = []
    for a in asked:
        answer = a.at(bar)
        outcomes.append(score_changing(a.item, answer, score(a.item, answer, always, {})))
    metrics = summarize_changing(outcomes)
    p, r = metrics["newer_report_precision"], metrics["newer_report_recall"]
    f1 = 2 * p.value * r.value / (p.value + r.value) if p.value and r.value else 0.0
    return {k: m.value for k, m in metrics.items()} | {
        "reports": metrics["newer_report_precision"].total,
        "real": metrics["newer_report_precision"].count,
        "f1": f1,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, default=Path("eval/gold/changing-dev.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path(".cache/changing/corpus"))
    parser.add_argument("--index-dir", type=Path, default=Path(".cache/changing/index"))
    parser.add_argument("--out", type=Path, default=Path(".cache/changing/fit_newer.json"))
    args = parser.parse_args(argv)
    if "test" in args.gold.name:
        parser.error("fit on the dev half only; the test half is run once with `qa eval`")
    settings = get_settings().model_copy(
        update={"corpus_dir": args.corpus, "index_dir": args.index_dir}
    )
    engine = Engine.open(settings, Index)
    old = engine.newer
    traced = Traced(old.retriever, old.reader, old.verifier, old.threshold, as_well=0.0)
    engine.newer = traced
    asked: list[Asked] = []
    for item in load_gold(args.gold):
        answer = engine.ask(AskRequest(question=item.question, as_of=item.as_of))
        found = list(traced.found) if answer.newer else []  # in the order found
        asked.append(Asked(item, answer, found))
        shown = [(r.short_answer, round(x, 3)) for r, x in found]
        short = answer.short_answer.text if answer.short_answer else None
        print(item.id, short, shown, traced.probs if answer.newer else [])
    table = {bar: grade(asked, bar) for bar in GRID}
    top = max(row["f1"] or 0.0 for row in table.values())
    tied = [b for b in GRID if (table[b]["f1"] or 0.0) == top and b > 0]
    best = round(float(np.sqrt(min(tied) * max(tied))), 2) if tied else AS_WELL
    for bar, row in table.items():
        print(f"{bar:5.2f}", json.dumps(row))
    print("chosen", best, "bars tied at the best F1:", tied)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    asked_rows = [
        {
            "id": a.item.id,
            "short_answer": a.answer.short_answer.text if a.answer.short_answer else None,
            "found": [(r.date.isoformat(), r.short_answer, x) for r, x in a.found],
        }
        for a in asked
    ]
    record = {"gold": str(args.gold), "grid": table, "chosen": best, "asked": asked_rows}
    args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
