"""The neural reader alone on SQuAD 2.0 articles never used to train or choose it (the test
split of training/squad.py, seed 16), each question read against its own paragraph.

    .venv/bin/python -m training.span_reader_squad [--split test]

Reports exact match and F1 with no-answer (the no-answer threshold chosen on the SQuAD
validation split at training time, `squad_threshold` in span_reader.meta.json), no-answer
accuracy, and F1 on the answerable questions when the model must give a span.
"""

from __future__ import annotations

import argparse
import json
import time

from qa.answer.reader import span
from training.span_reader import DATA, spans_for, squad_eval_items, squad_scores
from training.squad import load_articles, split_articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    args = parser.parse_args()
    meta = span.read_meta()
    articles = load_articles(DATA / "squad2" / "dev-v2.0.json.gz")
    split = split_articles([a["title"] for a in articles], meta["config"]["seed"])
    by_title = {a["title"]: a for a in articles}
    items = squad_eval_items([by_title[t] for t in split[args.split]])
    model = span.load_model()
    started = time.perf_counter()
    found = spans_for(model, [(q, p) for q, p, _ in items])
    elapsed = time.perf_counter() - started
    threshold = float(meta.get("squad_threshold", meta["threshold"]))
    scores = squad_scores(found, items, threshold)
    scores |= {"threshold": threshold, "ms_per_question": round(elapsed * 1000 / len(items), 1)}
    print(json.dumps({"split": args.split, "articles": split[args.split], **scores}, indent=1))


if __name__ == "__main__":
    main()
