"""Fit `qa.newer.AS_WELL` (how well, read alone, a newer quote must answer compared with the
cited one) on the changing-facts dev half; never on the test half.

    .venv/bin/qa eval prepare-realtimeqa --articles eval/gold/changing-articles.txt
    .venv/bin/qa ingest --corpus .cache/changing/corpus --index-dir .cache/changing/index
    .venv/bin/python -m training.fit_newer --gold eval/gold/changing-dev.jsonl

Every question is asked once with the bar at 0, so every candidate the other checks let through
is listed (in the order found) with its ratio; a bar t keeps the candidates found before the
first one under t (the search stops at the first failure, as in `NewerReports.find`). Each bar
of the grid is scored with the gold's changing-fact metrics: the bar with the best F1 of
newer_report_precision and newer_report_recall wins; ties: the higher bar (fewer reports).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.config import get_settings
from qa.engine import Engine
from qa.evaluation.changing import score_changing, summarize_changing
from qa.evaluation.gold import GoldItem, load_gold
from qa.evaluation.metrics import Outcome, score
from qa.newer import NewerReports
from qa.retrieval import Passage
from qa.schema import Answer, AskRequest, NewerReport

GRID = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5)


class Traced(NewerReports):
    """NewerReports that records each report's ratio (newer quote alone / cited quote alone)."""

    base = 1.0
    found: list[tuple[NewerReport, float]]

    def find(self, question, answer, dates):  # type: ignore[no-untyped-def]
        self.found = []
        short = answer.short_answer
        if short is not None and 0 < short.n <= len(answer.citations):
            self.base = max(self._alone(question, answer.citations[short.n - 1]), 1e-9)
        return super().find(question, answer, dates)

    def _one(self, question, passages: Sequence[Passage], *args):  # type: ignore[no-untyped-def]
        report, source = super()._one(question, passages, *args)
        if report is not None:
            self.found.append((report, self._alone(question, report.citation) / self.base))
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
    engine = Engine.open(settings)
    old = engine.newer
    traced = Traced(old.retriever, old.reader, old.verifier, old.threshold, as_well=0.0)
    engine.newer = traced
    asked: list[Asked] = []
    for item in load_gold(args.gold):
        answer = engine.ask(AskRequest(question=item.question, as_of=item.as_of))
        found = list(traced.found) if answer.newer else []  # in the order found
        asked.append(Asked(item, answer, found))
        shown = [(r.short_answer, round(x, 3)) for r, x in found]
        print(item.id, answer.short_answer.text if answer.short_answer else None, shown)
    table = {bar: grade(asked, bar) for bar in GRID}
    best = max(GRID, key=lambda b: (table[b]["f1"] or 0.0, b))
    for bar, row in table.items():
        print(f"{bar:5.2f}", json.dumps(row))
    print("chosen", best)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"gold": str(args.gold), "grid": table, "chosen": best}))


if __name__ == "__main__":
    main()
