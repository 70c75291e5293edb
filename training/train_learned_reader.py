"""Train the extractive reader (issue 16) and write qa/answer/reader/reader.json + its sidecar
reader.meta.json (data SHA-256, split, features, validation scores, the previous model's scores).

    .venv/bin/python -m training.train_learned_reader \
        [--squad ../shared/data/squad2/dev-v2.0.json.gz]
    # with RealTime QA news questions as well (split by week, the evaluation sample left out):
    .venv/bin/python bench/realtimeqa.py --sample 300 --seed 1     # builds the folder and index
    .venv/bin/python -m training.train_learned_reader --news .cache/realtimeqa-sample300-1

Deterministic: a seeded split (SQuAD by article, news by week), liblinear logistic regression.
Every text is embedded once with the service's model into .cache/reader/vectors.npz, so a rerun
takes a few minutes. With --news it tries several weights of a news row (0 = SQuAD only) and
keeps the one with the best validation accuracy; the refusal threshold is chosen on the
validation questions of every set used.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.answer.engine import Engine
from qa.answer.reader.entities import EntityTagger
from qa.answer.reader.features import FEATURES, candidates
from qa.answer.reader.model import MODEL_PATH, ReaderModel, load_model
from qa.answer.reader.reader import LearnedReader
from qa.config import Settings
from qa.evaluation.realtimeqa import question_ids
from qa.ingest.index import Index
from qa.search.embedding import make_embedder
from training import news
from training.learned_reader import (
    SEED,
    VectorCache,
    choose_threshold,
    fit,
    join,
    learned_read,
    prepare,
    read_all,
    rows,
    save,
    sha256,
    summary,
)
from training.squad import Example

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared/data/squad2/dev-v2.0.json.gz"


NEWS = ROOT / ".cache/realtimeqa-sample300-1"
RTQA = ROOT.parent / "shared/data/realtimeqa"


def overall(scores: dict[str, dict[str, float]]) -> float:
    """Validation accuracy: answerable questions answered right, unanswerable ones refused."""
    vals = [s["question_accuracy"] for name, s in scores.items() if name.endswith(" val")]
    return float(np.mean(vals))


def evaluate(
    model: ReaderModel,
    sets: dict[str, dict[str, list[Example]]],
    cache: VectorCache,
    tagger: EntityTagger,
    parts: tuple[str, ...],
) -> dict[str, dict[str, float]]:
    reader = LearnedReader(cache, model, tagger)  # type: ignore[arg-type]
    out = {}
    for name, split in sets.items():
        for part in parts:
            # SQuAD's test split is training/learned_reader_squad.py's (beside the hand one)
            if split[part] and (part == "val" or name == "news"):
                picks = read_all(learned_read(reader), split[part])
                out[f"{name} {part}"] = summary(split[part], picks, model.threshold)
    return out


def news_examples(folder: Path, items: list[dict]) -> list[Example]:
    """Gold items of a `bench/realtimeqa.py` folder, asked of its index."""
    settings = Settings().model_copy(
        update={
            "corpus_dir": folder / "corpus",
            "index_dir": folder / "index-openvino",
            "embedding_backend": "openvino",
        }
    )
    engine = Engine.open(settings, Index)
    try:
        return news.examples(items, lambda q, asked: engine.retrieve(q, None, None, asked))
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument(
        "--news",
        type=Path,
        default=Path("none"),
        help="also train on RealTime QA: a `bench/realtimeqa.py --sample 300 --seed 1` folder "
        f"(gold.jsonl, index-openvino/), e.g. {NEWS.relative_to(ROOT)}; default: SQuAD only",
    )
    parser.add_argument(
        "--exclude-sample",
        type=int,
        default=50,
        help="leave out the questions of the seed-0 evaluation sample of this size",
    )
    parser.add_argument(
        "--news-weight",
        type=float,
        action="append",
        help="weight of a news row against a SQuAD row (repeatable; default: try 0, 1, 4 and "
        "balanced, keep the best on validation)",
    )
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache/reader/vectors.npz")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    args = parser.parse_args()
    started = time.perf_counter()
    cache = VectorCache(args.cache, lambda: make_embedder(Settings()))
    data = prepare(args.squad, cache, args.seed)
    sets = {"squad": data}
    split: dict[str, object] = {
        "squad": {k: sorted({ex.article for ex in v}) for k, v in data.items()}
    }
    files = {args.squad.name: sha256(args.squad)}
    use_news = str(args.news) != "none"
    if use_news:
        exclude = question_ids(RTQA, args.exclude_sample, 0) if args.exclude_sample else set()
        items = news.load_gold(args.news / "gold.jsonl", exclude)
        found = news_examples(args.news, items)
        weeks = news.split_weeks([ex.article for ex in found], args.seed)
        sets["news"] = news.by_split(found, weeks)
        split["news"] = weeks
        # the held-out weeks as a gold file, for the whole pipeline: qa eval --gold ...
        test_gold = args.cache.parent / "news-test.jsonl"
        test_gold.write_text(
            "".join(
                json.dumps(item) + "\n" for item in items if news.week(item["id"]) in weeks["test"]
            ),
            encoding="utf-8",
        )
        files |= {
            f"{args.news.name}/gold.jsonl": sha256(args.news / "gold.jsonl"),
            "questions.jsonl": sha256(RTQA / "questions.jsonl"),
            "articles.jsonl.gz": sha256(RTQA / "articles.jsonl.gz"),
        }
    every = [ex for parts in sets.values() for items in parts.values() for ex in items]
    units = list(dict.fromkeys(u.text for ex in every for u in candidates(ex.passages)))
    cache.ensure(units + [ex.question for ex in every])
    cache.save()
    tagger = EntityTagger(size=1_000_000)
    tagger(units)
    print(
        f"data ready in {time.perf_counter() - started:.0f}s: "
        + "; ".join(
            f"{name} " + ", ".join(f"{k} {len(v)}" for k, v in parts.items())
            for name, parts in sets.items()
        )
    )
    parts = [rows(p["train"], cache, tagger) for p in sets.values()]
    train = join(parts)
    val = [ex for p in sets.values() for ex in p["val"]]
    balanced = len(sets["squad"]["train"]) / max(len(sets.get("news", {}).get("train", [])), 1)
    tried = []
    for ratio in (args.news_weight or [0.0, 1.0, 4.0, balanced]) if use_news else [1.0]:
        weight = np.concatenate(
            [np.full(len(p.y), 1.0 if i == 0 else ratio) for i, p in enumerate(parts)]
        )
        model = fit(train, args.c, weight)
        read = learned_read(LearnedReader(cache, model, tagger))  # type: ignore[arg-type]
        picks = {name: read_all(read, p["val"]) for name, p in sets.items()}
        best: dict[int, tuple[float, bool]] = {}
        offset = 0
        for name, p in sets.items():  # the same numbering as `val`
            best |= {offset + g: (pr, right) for g, (pr, right, _) in picks[name].items()}
            offset += len(p["val"])
        model = replace(model, threshold=choose_threshold(val, best))
        scores = {
            f"{name} val": summary(p["val"], picks[name], model.threshold)
            for name, p in sets.items()
        }
        tried.append((overall(scores), ratio, model, scores))
        print(
            f"news weight {ratio:.2f}: threshold {model.threshold:.4f}, "
            f"validation {overall(scores):.4f}"
        )
    _, ratio, model, scores = max(tried, key=lambda t: t[0])
    threshold = model.threshold
    scores |= evaluate(model, sets, cache, tagger, ("test",))
    previous = load_model()
    before = evaluate(previous, sets, cache, tagger, ("val", "test"))
    meta = {
        "trained_by": "training/train_learned_reader.py",
        "data": files,
        "seed": args.seed,
        "split": split,
        "split_questions": {
            f"{name} {k}": len(v) for name, p in sets.items() for k, v in p.items()
        },
        "train_rows": int(train.x.shape[0]),
        "train_positives": int(train.y.sum()),
        "news_weight": ratio if use_news else None,
        "news_weights_tried": {f"{r:.2f}": round(v, 4) for v, r, _, _ in tried}
        if use_news
        else None,
        "features": list(FEATURES),
        "model": f"logistic regression (liblinear, C={args.c}), standardised features",
        "threshold": threshold,
        "threshold_rule": "highest probability refusing <= 0.1 of answerable val questions"
        + (" (SQuAD and news validation together)" if use_news else ""),
        "selection": "the news weight with the best validation accuracy (answered right or "
        "rightly refused), averaged over the validation sets",
        "validation": scores,
        "previous_model": before,
        "weights": dict(zip(FEATURES, np.round(model.coef, 4).tolist(), strict=True)),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    save(model, meta, args.out)
    print(
        json.dumps({"threshold": threshold, "scores": scores, "previous model": before}, indent=1)
    )
    print(f"wrote {args.out} and {args.out.with_suffix('.meta.json')}")


if __name__ == "__main__":
    main()
