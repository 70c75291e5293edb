"""Train the extractive reader (issue 16) on SQuAD 2.0 and write qa/reader/reader.json + its
sidecar reader.meta.json (data SHA-256, split, features, validation scores).

    .venv/bin/python bench/train_reader.py [--squad ../shared/data/squad2/dev-v2.0.json.gz]

Deterministic: a seeded split by article, liblinear logistic regression. Every text is embedded
once with the service's model into .cache/reader/vectors.npz, so a rerun takes under a minute.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.embedding import make_embedder
from qa.reader.entities import EntityTagger
from qa.reader.features import FEATURES, candidates
from qa.reader.model import MODEL_PATH
from qa.reader.reader import LearnedReader
from qa.reader.train import (
    SEED,
    VectorCache,
    choose_threshold,
    fit,
    learned_read,
    prepare,
    read_all,
    rows,
    save,
    sha256,
    summary,
)

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared/data/squad2/dev-v2.0.json.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache/reader/vectors.npz")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    args = parser.parse_args()
    started = time.perf_counter()
    cache = VectorCache(args.cache, lambda: make_embedder(Settings()))
    data = prepare(args.squad, cache, args.seed)
    tagger = EntityTagger(size=1_000_000)
    tagger(
        list(
            dict.fromkeys(
                u.text
                for ex in data["train"] + data["val"] + data["test"]
                for u in candidates(ex.passages)
            )
        )
    )
    print(
        f"data ready in {time.perf_counter() - started:.0f}s: "
        + ", ".join(f"{k} {len(v)}" for k, v in data.items())
    )
    train = rows(data["train"], cache, tagger)
    model = fit(train, args.c)
    reader = LearnedReader(cache, model, tagger)  # type: ignore[arg-type]
    val_picks = read_all(learned_read(reader), data["val"])
    threshold = choose_threshold(data["val"], {g: (p, r) for g, (p, r, _) in val_picks.items()})
    model = type(model)(
        model.features, model.mean, model.scale, model.coef, model.intercept, threshold
    )
    scores = summary(data["val"], val_picks, threshold)
    meta = {
        "trained_by": "bench/train_reader.py",
        "data": {str(args.squad.name): sha256(args.squad)},
        "seed": args.seed,
        "split": {k: sorted({ex.article for ex in v}) for k, v in data.items()},
        "split_questions": {k: len(v) for k, v in data.items()},
        "train_rows": int(train.x.shape[0]),
        "train_positives": int(train.y.sum()),
        "features": list(FEATURES),
        "model": f"logistic regression (liblinear, C={args.c}), standardised features",
        "threshold": threshold,
        "threshold_rule": "highest probability refusing <= 0.1 of answerable val questions",
        "validation": scores,
        "weights": dict(zip(FEATURES, np.round(model.coef, 4).tolist(), strict=True)),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    save(model, meta, args.out)
    print(json.dumps({"threshold": threshold, "validation": scores}, indent=1))
    print(f"wrote {args.out} and {args.out.with_suffix('.meta.json')}")


if __name__ == "__main__":
    main()
