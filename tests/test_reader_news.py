"""RealTime QA as reader training data (training/news.py) and the weighted fit (train.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from qa.types import Passage
from training import news
from training.learned_reader import Rows, fit, join


def passage(text: str, n: int = 0) -> Passage:
    return Passage(
        chunk_id=f"c{n}",
        source="rtqa.jsonl#a",
        text=text,
        start=0,
        end=len(text),
        date=None,
        title=None,
        score=0.03,
        dense=0.5,
        lexical=None,
    )


ITEM = {
    "id": "20220617_1",
    "question": "Which continent will require a single charging standard for phones?",
    "answers": ["Europe"],
    "date_to": "2022-06-16",
}


def test_sentences_holding_the_answer_are_the_positives() -> None:
    passages = [
        passage(
            "Lawmakers met on Tuesday to talk about cables and phones. Phone makers must "
            "follow the new rule in Europe by 2024, the commission said."
        ),
        passage("Apple has not said what it will do about the new charger rule.", 1),
    ]
    ex = news.example(ITEM, passages)
    assert ex.answerable and ex.article == "20220617"
    ((p, start, end),) = ex.answers
    assert p == 0 and "Europe" in passages[0].text[start:end]
    assert passages[0].text[start:end].startswith("Phone makers")


def test_a_question_whose_answer_no_sentence_holds_teaches_refusal() -> None:
    ex = news.example(ITEM, [passage("Apple has not said what it will do about the new rule.")])
    assert not ex.answerable and ex.answers == ()
    # whole words only, as `qa eval` scores answers: "Europeans" does not hold "Europe"
    ex = news.example(ITEM, [passage("Many Europeans already use the same charger at home.")])
    assert not ex.answerable


def test_each_question_is_asked_as_of_its_date(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    lines = [ITEM, ITEM | {"id": "20220624_0", "date_to": None}, ITEM | {"id": "x", "answers": []}]
    gold.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    asked: list[date | None] = []

    def retrieve(question: str, day: date | None) -> list[Passage]:
        asked.append(day)
        return []

    items = news.load_gold(gold, exclude={"20220624_0"})
    assert [i["id"] for i in items] == ["20220617_1"]  # excluded, and no answer to learn from
    news.examples(items, retrieve)
    assert asked == [date(2022, 6, 16)]


def test_weeks_split_by_seed_without_overlap() -> None:
    weeks = [f"2022{m:02d}{d:02d}" for m in range(6, 13) for d in (3, 10, 17, 24)]
    split = news.split_weeks(weeks * 3, seed=16)
    assert split == news.split_weeks(list(reversed(weeks)), seed=16)
    assert sorted(w for part in split.values() for w in part) == sorted(weeks)
    assert (len(split["val"]), len(split["test"])) == (4, 4)
    assert split != news.split_weeks(weeks, seed=17)


@pytest.mark.slow  # imports scikit-learn (4 s), needed only for training
def test_row_weights_move_the_fit() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    a = Rows(x[:100], (x[:100, 0] > 0).astype(int), np.repeat(np.arange(10), 10))
    b = Rows(x[100:], (x[100:, 1] > 0).astype(int), np.repeat(np.arange(10), 10))
    both = join([a, b])
    assert len(set(both.group[:100]) & set(both.group[100:])) == 0
    plain = fit(both)
    leaning = fit(both, weight=np.r_[np.ones(100), np.full(100, 20.0)])
    assert leaning.coef[1] > plain.coef[1] and leaning.coef[0] < plain.coef[0]
    with pytest.raises(ValueError):
        fit(both, weight=np.ones(3))
