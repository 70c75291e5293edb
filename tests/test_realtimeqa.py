"""RealTime QA preparation on a tiny hand-made copy of its files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from qa.cli import eval_app
from qa.evaluation import load_gold
from qa.evaluation.realtimeqa import article_id, prepare, question_ids

OLD, GOLD, LATE, DUP, OTHER = (
    "https://x/old",
    "https://x/gold",
    "https://x/late",
    "https://x/dup",
    "https://x/o",
)
TEXT = (
    "Netflix announced that the wildly popular show Squid Game is coming back for a second season."
)


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    data = "".join(json.dumps(r) + "\n" for r in rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data.encode()))
    else:
        path.write_text(data)


def _article(url: str, text: str, day: str, title: str = "t") -> dict[str, Any]:
    return {"article_id": article_id(url), "url": url, "title": title, "publish_date": day,
            "authors": [], "text": text}  # fmt: skip


def _question(qid: str, sentence: str, choices: list[str], right: int) -> dict[str, Any]:
    return {"question_id": qid, "question_date": "2022/06/16", "question_sentence": sentence,
            "choices": choices, "answer": [str(right)]}  # fmt: skip


def data_folder(tmp_path: Path) -> Path:
    root = tmp_path / "realtimeqa"
    root.mkdir()
    _jsonl(root / "questions.jsonl", [
        _question("q1", "Which show was green lit?", ["Friends", "Squid Game"], 1),
        _question("q2", "Which show returns?", ["Squid Game", "Lost"], 0),
        _question("q3", "Who won?", ["Nobody", "Ada"], 1),
        _question("q4", "What else?", ["Nothing"], 0),
    ])  # fmt: skip
    _jsonl(root / "retrieval_gcs.jsonl", [
        {"question_id": "q1", "article_ids": [article_id(OLD)]},
        {"question_id": "q2", "article_ids": [article_id(OLD), article_id(LATE), article_id(DUP)]},
        {"question_id": "q3", "article_ids": [article_id(OTHER)]},
    ])  # fmt: skip
    _jsonl(root / "articles.jsonl.gz", [
        _article(OLD, "An old story about " + TEXT, "2022/06/01"),
        _article(LATE, TEXT + " Later.", "2022/07/01"),
        _article(DUP, "An old story about " + TEXT, "2022/06/02"),
        _article(OTHER, "Ada was not mentioned as the winner? She won nothing.", "2022/06/10"),
    ])  # fmt: skip
    _jsonl(root / "gold.jsonl.gz", [
        {"question_id": "q1", "search_result": [
            {"url": GOLD, "text": TEXT, "authors": [], "publish_date": "2022/06/12"},
            {"url": OLD, "text": "ignored", "authors": [], "publish_date": "2022/06/01"},
        ]},
        {"question_id": "q2", "search_result": []},
    ])  # fmt: skip
    return root


def test_prepare_builds_corpus_and_gold(tmp_path: Path) -> None:
    summary = prepare(data_folder(tmp_path), tmp_path / "out")
    records = [json.loads(x) for x in (tmp_path / "out/corpus/rtqa.jsonl").read_text().splitlines()]
    ids = {r["id"] for r in records}
    # gold article added once by URL; the duplicate text under another URL dropped
    assert ids == {article_id(u) for u in (OLD, GOLD, LATE, OTHER)}
    assert summary["articles"] == 4 and summary["questions"] == 4
    gold_record = next(r for r in records if r["id"] == article_id(GOLD))
    assert gold_record["date"] == "2022-06-12" and gold_record["text"] == TEXT

    gold = {g.id: g for g in load_gold(tmp_path / "out/gold.jsonl")}
    q1, q2, q3, q4 = gold["q1"], gold["q2"], gold["q3"], gold["q4"]
    # every gold article is a source, the one already among the articles under its first copy
    assert q1.answers == ["Squid Game"]
    assert q1.sources == [f"rtqa.jsonl#{article_id(GOLD)}", f"rtqa.jsonl#{article_id(OLD)}"]
    assert q1.answerable and q1.date_to is not None and q1.date_to.isoformat() == "2022-06-16"
    assert q1.as_of == q1.date_to  # asked as of the quiz date
    # no gold article: retrieved articles holding the answer, published by the question date;
    # the duplicate resolves to the article that is indexed
    assert q2.sources == [f"rtqa.jsonl#{article_id(OLD)}"]
    assert q3.answerable and q3.sources == [f"rtqa.jsonl#{article_id(OTHER)}"]
    assert not q4.answerable and q4.sources == [] and q4.answers == ["Nothing"]


def test_sample_keeps_only_its_own_articles(tmp_path: Path) -> None:
    data = data_folder(tmp_path)
    result = CliRunner().invoke(
        eval_app,
        ["prepare-realtimeqa", "--data", str(data), "--out", str(tmp_path / "s"),
         "--sample", "1", "--seed", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    gold = load_gold(tmp_path / "s/gold.jsonl")
    assert len(gold) == 1
    corpus = (tmp_path / "s/corpus/rtqa.jsonl").read_text().splitlines()
    wanted = {"q1": 2, "q2": 2, "q3": 1, "q4": 0}[gold[0].id]  # retrieved + gold, deduplicated
    assert len(corpus) == wanted
    assert "qa eval --gold" in result.output


def test_question_ids_name_the_sample_prepare_keeps(tmp_path: Path) -> None:
    """The reader's news training leaves out the evaluation sample by these ids."""
    data = data_folder(tmp_path)
    assert question_ids(data) == {"q1", "q2", "q3", "q4"}
    for seed in range(4):
        prepare(data, tmp_path / f"s{seed}", sample=2, seed=seed)
        kept = {g.id for g in load_gold(tmp_path / f"s{seed}/gold.jsonl")}
        assert question_ids(data, 2, seed) == kept


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_app, ["prepare-realtimeqa", "--data", str(tmp_path / "no")])
    assert result.exit_code == 2 and "questions.jsonl is missing" in result.output


def test_an_article_list_keeps_only_those_articles_and_writes_no_gold(tmp_path: Path) -> None:
    data = data_folder(tmp_path)
    listed = tmp_path / "changing-articles.txt"
    listed.write_text(f"# my corpus\n{article_id(LATE)}\n{article_id(OTHER)}  # the winner\n")
    result = CliRunner().invoke(
        eval_app,
        ["prepare-realtimeqa", "--data", str(data), "--out", str(tmp_path / "c"),
         "--articles", str(listed)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(x) for x in (tmp_path / "c/corpus/rtqa.jsonl").read_text().splitlines()]
    assert {r["id"] for r in records} == {article_id(LATE), article_id(OTHER)}
    assert not (tmp_path / "c/gold.jsonl").exists() and "qa ingest" in result.output
    listed.write_text("0000000000000000\n")  # an id the data does not hold is an error
    failed = CliRunner().invoke(
        eval_app,
        ["prepare-realtimeqa", "--data", str(data), "--out", str(tmp_path / "d"),
         "--articles", str(listed)],
    )  # fmt: skip
    assert failed.exit_code != 0 and "0000000000000000" in failed.output
