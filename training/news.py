"""RealTime QA as reader training data: news questions asked of the service's own retrieval.

Each question of a prepared RealTime QA gold file (`qa eval prepare-realtimeqa`) is asked, as of
its question date, against an index of its corpus; the candidates are the sentences of the
passages that retrieval returns, and the positives are the sentences that contain the right
choice (the same normalized containment `qa eval` scores answers with). A question none of
whose candidates holds the answer teaches refusal. Questions are split by news week (the
`YYYYMMDD` of their id), so no week's news is seen in two splits."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date
from pathlib import Path

from qa.answer.reader.features import candidates
from qa.evaluation.answers import contains
from qa.types import Passage
from training.squad import Example

Retrieve = Callable[[str, date | None], Sequence[Passage]]


def week(question_id: str) -> str:
    """RealTime QA ids are `<release YYYYMMDD>_<n>`: the weekly release."""
    return question_id.split("_", 1)[0]


def split_weeks(weeks: Iterable[str], seed: int = 16) -> dict[str, list[str]]:
    """A seeded split of the weeks: 70% train, 15% validation, 15% test."""
    order = sorted(set(weeks))
    random.Random(seed).shuffle(order)
    n = len(order)
    val = test = max(1, round(n * 0.15))
    return {
        "train": sorted(order[: n - val - test]),
        "val": sorted(order[n - val - test : n - test]),
        "test": sorted(order[n - test :]),
    }


def load_gold(path: Path, exclude: Collection[str] = ()) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if r["id"] not in exclude and r.get("answers")]


def example(item: dict, passages: Sequence[Passage]) -> Example:
    """One question with its retrieved passages; every sentence holding an answer is a positive."""
    answers = tuple(str(a) for a in item["answers"])
    spans = tuple(
        (u.passage, u.start, u.end)
        for u in candidates(passages)
        if any(contains(u.text, a) for a in answers)
    )
    return Example(
        item["id"], item["question"], week(item["id"]), tuple(passages), spans, answers, bool(spans)
    )


def examples(items: Sequence[dict], retrieve: Retrieve) -> list[Example]:
    out = []
    for item in items:
        asked = date.fromisoformat(item["date_to"]) if item.get("date_to") else None
        out.append(example(item, retrieve(item["question"], asked)))
    return out


def by_split(items: Sequence[Example], split: dict[str, list[str]]) -> dict[str, list[Example]]:
    part = {week: name for name, weeks in split.items() for week in weeks}
    return {name: [ex for ex in items if part.get(ex.article) == name] for name in split}
