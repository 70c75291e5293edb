"""The reader alone on the SQuAD 2.0 test split (articles never seen in training): the learned
reader and the old hand-weighted extractive step, in one run, on the same retrieved paragraphs.

    .venv/bin/python -m training.learned_reader_squad [--split test] \
        [--out .cache/reader/squad-test.json]

Reports answer-sentence accuracy (answerable questions), no-answer precision/recall and false
refusals at each reader's own refusal threshold, and short-answer EM/F1 on typed questions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa.answer.reader.entities import EntityTagger
from qa.answer.reader.features import candidates
from qa.answer.reader.model import load_model
from qa.answer.reader.reader import LearnedReader
from qa.config import Settings
from qa.search.embedding import make_embedder
from training.baseline import HandWeighted
from training.learned_reader import (
    SEED,
    VectorCache,
    hand_read,
    learned_read,
    prepare,
    read_all,
    summary,
)

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared/data/squad2/dev-v2.0.json.gz"
OLD_THRESHOLD = 0.4  # the hand-set QA_REFUSAL_THRESHOLD of the hand-weighted step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache/reader/vectors.npz")
    parser.add_argument("--out", type=Path, default=ROOT / ".cache/reader/squad-test.json")
    args = parser.parse_args()
    cache = VectorCache(args.cache, lambda: make_embedder(Settings()))
    items = prepare(args.squad, cache, SEED)[args.split]
    tagger = EntityTagger(size=1_000_000)
    tagger(list(dict.fromkeys(u.text for ex in items for u in candidates(ex.passages))))
    model = load_model()
    results = {}
    for name, read, threshold in (
        ("learned", learned_read(LearnedReader(cache, model, tagger)), model.threshold),  # type: ignore[arg-type]
        ("hand-weighted", hand_read(HandWeighted(cache)), OLD_THRESHOLD),  # type: ignore[arg-type]
    ):
        started = time.perf_counter()
        picks = read_all(read, items)
        results[name] = summary(items, picks, threshold) | {
            "threshold": threshold,
            "ms_per_question": round((time.perf_counter() - started) * 1000 / len(items), 2),
        }
    print(f"SQuAD 2.0 {args.split} split: {len(items)} questions")
    names = list(results)
    print("| metric | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for key in results[names[0]]:
        cells = [results[n][key] for n in names]
        print(
            f"| {key} | "
            + " | ".join(f"{c:.3f}" if isinstance(c, float) else str(c) for c in cells)
            + " |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
