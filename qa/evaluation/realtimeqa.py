"""RealTime QA as a corpus dump plus a gold file in the `qa eval` format.

The corpus is one `rtqa.jsonl` (a record is cited as `rtqa.jsonl#ID`); every question is asked
"as of" its question date, so its sources are only articles published by then.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from qa.errors import InputError
from qa.evaluation.answers import contains
from qa.ingest.cleaning import clean_text
from qa.types import Article, parse_date

DUMP = "rtqa.jsonl"
SPLITS = Path(__file__).resolve().parents[2] / "eval" / "splits" / "realtimeqa.json"
Split = str  # "train" | "val" | "test": weeks listed in eval/splits/realtimeqa.json


def split_weeks(split: Split, path: Path = SPLITS) -> set[str]:
    """The weekly releases (`YYYYMMDD` of a question id) of one split of the committed file."""
    weeks = json.loads(path.read_text(encoding="utf-8"))
    if split not in ("train", "val", "test"):
        raise InputError(f"unknown split {split!r}: use train, val or test")
    return set(weeks[split])


@dataclass(frozen=True)
class Doc:
    id: str
    url: str
    title: str | None
    date: date | None
    text: str


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    if not path.exists():
        raise InputError(f"{path} is missing; point --data at the RealTime QA folder")
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def article_id(url: str) -> str:
    """The id RealTime QA's `articles.jsonl.gz` uses: sha1(url)[:16]."""
    return hashlib.sha1(url.encode()).hexdigest()[:16]


def _doc(record: dict[str, Any]) -> Doc:
    url = str(record["url"])
    return Doc(
        id=str(record.get("article_id") or article_id(url)),
        url=url,
        title=record.get("title") or None,
        date=parse_date(record.get("publish_date")),
        text=str(record.get("text") or ""),
    )


def load(
    data: Path,
) -> tuple[list[dict[str, Any]], dict[str, list[str]], dict[str, Doc], dict[str, list[str]]]:
    """Questions, retrieved ids per question, articles by id, gold article ids per question."""
    questions = list(_lines(data / "questions.jsonl"))
    retrieved = {
        r["question_id"]: list(r["article_ids"]) for r in _lines(data / "retrieval_gcs.jsonl")
    }
    docs: dict[str, Doc] = {}
    by_url: dict[str, str] = {}
    for record in _lines(data / "articles.jsonl.gz"):
        doc = _doc(record)
        if doc.url not in by_url:
            docs[doc.id], by_url[doc.url] = doc, doc.id
    gold: dict[str, list[str]] = {}
    for record in _lines(data / "gold.jsonl.gz"):
        for result in record.get("search_result") or []:
            doc = _doc(result)
            if not doc.text.strip():
                continue
            if doc.url not in by_url:
                docs[doc.id], by_url[doc.url] = doc, doc.id
            gold.setdefault(record["question_id"], []).append(by_url[doc.url])
    return questions, retrieved, docs, gold


def _dedupe(docs: dict[str, Doc]) -> tuple[dict[str, Doc], dict[str, str]]:
    """Drop articles whose clean text repeats an earlier one (ingest would skip them too)."""
    kept: dict[str, Doc] = {}
    alias: dict[str, str] = {}
    owner: dict[str, str] = {}
    for doc in docs.values():
        text = clean_text(doc.text)
        if not text:
            continue
        digest = Article(doc.id, text, doc.date).content_hash
        keeper = owner.setdefault(digest, doc.id)
        alias[doc.id] = keeper
        if keeper == doc.id:
            kept[doc.id] = doc
    return kept, alias


def gold_item(
    question: dict[str, Any], candidates: list[str], gold_ids: list[str], docs: dict[str, Doc]
) -> dict[str, Any]:
    """One gold line: the right choice, and gold (else answer-bearing) articles dated by then."""
    answer = str(question["choices"][int(question["answer"][0])])
    asked = parse_date(question["question_date"])

    def usable(doc_id: str) -> bool:
        doc = docs.get(doc_id)
        if doc is None:
            return False  # an explicit date range excludes undated articles, so they need a date
        return asked is None or (doc.date is not None and doc.date <= asked)

    sources = [i for i in dict.fromkeys(gold_ids) if usable(i)]
    if not sources:
        sources = [
            i for i in dict.fromkeys(candidates) if usable(i) and contains(docs[i].text, answer)
        ]
    item: dict[str, Any] = {
        "id": question["question_id"],
        "question": question["question_sentence"],
        "answers": [answer],
        "sources": [f"{DUMP}#{i}" for i in sources],
        "answerable": bool(sources),
    }
    if asked:  # asked as of the quiz date; date_to keeps older runs' range
        item["date_to"] = item["as_of"] = asked.isoformat()
    return item


def sampled(questions: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """The seeded sample `prepare --sample N --seed S` keeps."""
    return random.Random(seed).sample(questions, min(n, len(questions)))


def question_ids(data: Path, sample: int | None = None, seed: int = 0) -> set[str]:
    """The ids of every question, or of the seeded sample `prepare` would keep."""
    questions = list(_lines(data / "questions.jsonl"))
    return {q["question_id"] for q in (sampled(questions, sample, seed) if sample else questions)}


def _write_corpus(out: Path, kept: dict[str, Doc]) -> None:
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    with (out / "corpus" / DUMP).open("w", encoding="utf-8") as fh:
        for doc in kept.values():
            record = {
                "id": doc.id,
                "title": doc.title,
                "date": doc.date.isoformat() if doc.date else None,
                "url": doc.url,
                "text": doc.text,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def prepare_articles(data: Path, out: Path, ids_file: Path) -> dict[str, Any]:
    """Write `out/corpus/rtqa.jsonl` with only the articles listed in `ids_file` (one
    `article_id` a line, `#` comments): the corpus of a gold set written from these articles,
    such as the changing-facts set (`eval/gold/changing-articles.txt`)."""
    try:
        lines = ids_file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read article list {ids_file}: {exc.strerror}") from exc
    wanted = {s for line in lines if (s := line.split("#", 1)[0].strip())}
    _, _, docs, _ = load(data)
    missing = sorted(wanted - docs.keys())
    if missing:
        raise InputError(f"{len(missing)} listed articles are not in {data}: {missing[:3]}")
    kept, _ = _dedupe({i: d for i, d in docs.items() if i in wanted})
    _write_corpus(out, kept)
    return {
        "articles": len(kept),
        "dropped_duplicate_or_empty": len(wanted) - len(kept),
        "corpus": str(out / "corpus" / DUMP),
    }


def prepare(
    data: Path, out: Path, sample: int | None = None, seed: int = 0, split: Split | None = None
) -> dict[str, Any]:
    """Write `out/corpus/rtqa.jsonl` and `out/gold.jsonl`; return what was written. With a
    `split`, only that split's weeks and their own articles; with a `sample`, N seeded
    questions (of the split) and their own articles."""
    questions, retrieved, docs, gold = load(data)
    if split is not None:
        weeks = split_weeks(split)
        questions = [q for q in questions if q["question_id"].split("_", 1)[0] in weeks]
    if sample is not None:
        questions = sampled(questions, sample, seed)
    if sample is not None or split is not None:
        own = {
            i
            for q in questions
            for i in retrieved.get(q["question_id"], []) + gold.get(q["question_id"], [])
        }
        docs = {i: d for i, d in docs.items() if i in own}
    kept, alias = _dedupe(docs)

    def resolve(ids: list[str]) -> list[str]:
        return [alias[i] for i in ids if i in alias]

    items = [
        gold_item(
            q,
            resolve(retrieved.get(q["question_id"], [])),
            resolve(gold.get(q["question_id"], [])),
            kept,
        )
        for q in questions
    ]
    _write_corpus(out, kept)
    with (out / "gold.jsonl").open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return {
        "questions": len(items),
        "answerable": sum(i["answerable"] for i in items),
        "with_gold_article": sum(bool(gold.get(q["question_id"])) for q in questions),
        "articles": len(kept),
        "dropped_duplicate_or_empty": len(docs) - len(kept),
        "corpus": str(out / "corpus" / DUMP),
        "gold": str(out / "gold.jsonl"),
    }
