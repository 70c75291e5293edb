"""The hand-weighted scorer the learned reader replaced (training/baseline.py): its pruned
search finds what scoring every sentence finds, with fewer model calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest.corpus import read_paths
from qa.types import Passage
from tests.conftest import HashEmbedder
from training.baseline import HandWeighted, answers_quantity, sub_questions

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
QUESTIONS = [
    "Who leads the Council of Resistance for the Republic?",
    "How many U.S. troops are in Niger?",
    "When did Wagner arrive in Mali?",
    "Which general visited Mali to meet Wagner?",
    "What did Chad say about military action?",
    "What is the population of Niger?",
    "How do I bake chocolate chip cookies?",
]


def seed_passages() -> list[Passage]:
    """Every paragraph of the seed articles as a passage."""
    passages = []
    for article in read_paths(sorted(SEEDS.glob("*.txt")), SEEDS).articles:
        at = 0
        for para in article.text.split("\n\n"):
            start = article.text.index(para, at)
            at = start + len(para)
            passages.append(
                Passage(
                    chunk_id=f"{article.source}:{start}",
                    source=article.source,
                    text=para,
                    start=start,
                    end=at,
                    date=article.date,
                    title=article.title,
                    score=0.0,
                    dense=None,
                    lexical=None,
                )
            )
    return passages


@pytest.mark.parametrize("question", QUESTIONS)
def test_pruned_search_finds_the_exhaustive_best(question: str) -> None:
    passages = seed_passages()
    exhaustive_model, pruned_model = HashEmbedder(), HashEmbedder()
    exhaustive = HandWeighted(exhaustive_model, batch=100_000).best(question, passages)
    pruned = HandWeighted(pruned_model, batch=1).best(question, passages)
    assert exhaustive is not None and pruned is not None
    assert (pruned.passage, pruned.start, pruned.end) == (
        exhaustive.passage,
        exhaustive.start,
        exhaustive.end,
    )
    assert pruned.score == pytest.approx(exhaustive.score)
    assert pruned_model.embedded <= exhaustive_model.embedded
    if question in QUESTIONS[:5]:  # words in common with some sentences: most are never embedded
        assert pruned_model.embedded < exhaustive_model.embedded / 2


def test_best_of_no_passages_is_none() -> None:
    assert HandWeighted(HashEmbedder()).best("Who?", []) is None


def test_sub_questions_and_quantities() -> None:
    assert sub_questions("Who leads the CRR, and who commands the junta?") == [
        "Who leads the CRR?",
        "who commands the junta?",
    ]
    assert answers_quantity("How many troops are there?", "There are 1,100 troops.")
    assert not answers_quantity("How many troops are there?", "There are 1,100 drones.")
    assert not answers_quantity("How many troops are there?", "Troops are there.")
