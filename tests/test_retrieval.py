"""Hybrid, date-aware retrieval (qa/search/retrieval.py): fast tests on a hash-embedded index, and
the done-when behaviour on the seed index with the real model."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document

from qa.config import Settings
from qa.ingest.index import Index
from qa.search.dates import DateFilter
from qa.search.retrieval import Mode, NewsRetriever, Retriever, date_where
from qa.types import Passage
from tests.conftest import SEEDS, HashEmbedder, make_settings

S000 = "000_cd0023486d4bb650.txt"
S001 = "001_82e9ea03b5c9249c.txt"
S002 = "002_e3a0ee1edd778f3c.txt"
S003 = "003_dc7ce24594d87c5a.txt"  # the only seed without a date
S004 = "004_4d4a022be80d252f.txt"  # 2023-08-06; the others are 2023-11-07 .. 2023-11-11
NOVEMBER = {S000, S001, S002}
MODES: list[Mode] = ["hybrid", "dense", "lexical"]


def _sources(passages: list[Passage]) -> list[str]:
    return [p.source for p in passages]


def _assert_text_matches_article(index: Index, passages: list[Passage]) -> None:
    for p in passages:
        text = index.catalog.text(p.source)
        assert text is not None
        assert text[p.start : p.end] == p.text


# -- fast: pure functions -----------------------------------------------------------------------


def test_date_where_builds_chroma_filters() -> None:
    assert date_where(None, None) is None
    assert date_where(date(2023, 11, 1), None) == {"date_int": {"$gte": 20231101}}
    assert date_where(None, date(2023, 8, 31)) == {"date_int": {"$lte": 20230831}}
    assert date_where(date(2023, 8, 1), date(2023, 8, 31)) == {
        "$and": [{"date_int": {"$gte": 20230801}}, {"date_int": {"$lte": 20230831}}]
    }


def test_passage_becomes_a_document_with_its_metadata() -> None:
    passage = Passage(
        chunk_id="c1",
        source="a.txt",
        text="Some text.",
        start=10,
        end=20,
        date=date(2023, 11, 10),
        title="T",
        score=0.03,
        dense=0.5,
        lexical=None,
    )
    doc = passage.to_document()
    assert doc.page_content == "Some text."
    assert doc.id == "c1"
    assert doc.metadata["date"] == "2023-11-10"
    assert (doc.metadata["source"], doc.metadata["start"], doc.metadata["end"]) == ("a.txt", 10, 20)
    assert doc.metadata["dense"] == 0.5 and doc.metadata["lexical"] is None
    undated = Passage(
        chunk_id="c2",
        source="b.txt",
        text="x",
        start=0,
        end=1,
        date=None,
        title=None,
        score=0.0,
        dense=None,
        lexical=1.0,
    ).to_document()
    assert undated.metadata["date"] is None


# -- fast: a hash-embedded copy of the seeds ----------------------------------------------------


@pytest.fixture(scope="module")
def hash_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    index = Index(make_settings(tmp_path_factory.mktemp("hash-seeds")), HashEmbedder())
    index.ingest()
    return index


@pytest.fixture(scope="module")
def hash_retriever(hash_index: Index) -> Retriever:
    return Retriever(hash_index, hash_index.embedder, per_source=2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("top_k", [1, 3, 7])
def test_top_k_is_respected(hash_retriever: Retriever, mode: Mode, top_k: int) -> None:
    passages = hash_retriever.search("Niger junta Wagner Mali coup ECOWAS", top_k, mode=mode)
    assert len(passages) == top_k
    assert len({p.chunk_id for p in passages}) == top_k


@pytest.mark.parametrize("per_source", [1, 2, 3])
def test_per_article_cap(hash_index: Index, per_source: int) -> None:
    retriever = Retriever(hash_index, hash_index.embedder, per_source=per_source)
    passages = retriever.search("Niger junta coup Wagner ECOWAS Bazoum", 50)
    counts = Counter(_sources(passages))
    assert max(counts.values()) == per_source  # every seed has enough chunks to reach the cap
    assert len(passages) <= 5 * per_source


@pytest.mark.parametrize("mode", MODES)
def test_a_date_range_excludes_undated_and_out_of_range(
    hash_retriever: Retriever, mode: Mode
) -> None:
    november = DateFilter(date_from=date(2023, 11, 1))
    found = _sources(hash_retriever.search("Wagner Mali general troops", 10, november, mode))
    assert found and set(found) <= NOVEMBER
    august = DateFilter(date(2023, 8, 1), date(2023, 8, 31))
    found = _sources(hash_retriever.search("Wagner Mali general troops", 10, august, mode))
    assert found and set(found) == {S004}
    nothing = DateFilter(date(2020, 1, 1), date(2020, 12, 31))
    assert hash_retriever.search("Wagner Mali general troops", 10, nothing, mode) == []


@pytest.mark.parametrize("mode", MODES)
def test_as_of_excludes_newer_dated_articles_and_keeps_undated_ones(
    hash_retriever: Retriever, mode: Mode
) -> None:
    question = "Wagner Mali general troops Niger junta ECOWAS"
    before = DateFilter(as_of=date(2023, 11, 9))  # after 001 (11-07), before 000 and 002
    found = set(_sources(hash_retriever.search(question, 20, before, mode)))
    assert {S001, S003, S004} <= found and not found & {S000, S002}
    august = set(_sources(hash_retriever.search(question, 20, DateFilter(as_of=AUG6), mode)))
    assert august == {S003, S004}  # the as_of day itself counts; the undated article too
    # an explicit date_to replaces the as_of bound (and, as any range, drops undated articles)
    ranged = DateFilter(date_to=date(2023, 11, 30), as_of=AUG6)
    assert set(_sources(hash_retriever.search(question, 20, ranged, mode))) == {S004} | NOVEMBER


AUG6 = date(2023, 8, 6)


def test_an_as_of_after_every_article_filters_nothing(hash_retriever: Retriever) -> None:
    assert hash_retriever.bounds(DateFilter(as_of=date(2026, 12, 7))) == (None, None, True)
    assert hash_retriever.bounds(DateFilter(as_of=AUG6)) == (None, 20230806, True)
    assert hash_retriever.bounds(DateFilter(date(2023, 8, 1), None, as_of=AUG6)) == (
        20230801, 20230806, False,
    )  # fmt: skip


def _dated_corpus(folder: Path, articles: int = 90) -> Path:
    """`articles` short articles, one every 5 days from 2023-01-01 (every 9th undated), made of
    seed sentences so that searches have near and far matches."""
    import re

    text = " ".join(p.read_text(encoding="utf-8") for p in sorted((SEEDS).glob("*.txt")))
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if 40 < len(s) < 300]
    folder.mkdir()
    for i in range(articles):
        picked = [sentences[(i * 7 + j * 13) % len(sentences)] for j in range(3)]
        body = f"Dispatch number {i} of the series. " + " ".join(picked)
        day = date.fromordinal(date(2023, 1, 1).toordinal() + 5 * i)
        header = "" if i % 9 == 4 else f" date {day.isoformat()} "
        (folder / f"a{i:03d}.txt").write_text(header + body + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    tmp = tmp_path_factory.mktemp("dated")
    index = Index(make_settings(tmp, corpus=_dated_corpus(tmp / "dated")), HashEmbedder())
    index.ingest()
    return index


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [
        (None, date(2024, 3, 1)),  # nearly everything: filtered in code
        (date(2023, 3, 1), None),
        (date(2023, 2, 1), date(2023, 12, 31)),
        (date(2023, 6, 1), date(2023, 6, 30)),  # one month: Chroma's where
        (date(2021, 1, 1), date(2021, 12, 31)),  # nothing
    ],
)
def test_date_filter_in_code_gives_the_exact_filters_candidates(
    dated_index: Index, date_from: date | None, date_to: date | None
) -> None:
    index = dated_index
    where = Retriever(index, index.embedder, 8, filter_in_code_from=2.0, ids_up_to=0)
    strategies = {
        "in-range ids": Retriever(index, index.embedder, 8, filter_in_code_from=2.0, exact_up_to=0),
        "exact, numpy": Retriever(
            index, index.embedder, 8, filter_in_code_from=2.0, exact_up_to=10**6
        ),
        # a small over-fetch, so that both of its exits run
        "over-fetch": Retriever(
            index, index.embedder, 8, filter_in_code_from=0.0, max_overfetch=12, ids_up_to=0
        ),
        "default": Retriever(index, index.embedder, 8),
    }
    dates = DateFilter(date_from, date_to)
    lo = int(date_from.strftime("%Y%m%d")) if date_from else 0
    hi = int(date_to.strftime("%Y%m%d")) if date_to else 99991231
    for question in ["Wagner Mali general", "ECOWAS sanctions Niger", "Bazoum detained guard"]:
        vector = index.embedder.embed_query(question)
        expected = where.dense(vector, dates)
        for name, retriever in strategies.items():
            found = retriever.dense(vector, dates)
            # the same similarities, and the same chunks except in the order of a tie
            similarities = [round(h.similarity, 5) for h in found]
            assert similarities == [round(h.similarity, 5) for h in expected], name
            cutoff = similarities[-1] if similarities else 0.0
            assert {h.chunk_id for h in found if round(h.similarity, 5) > cutoff} == {
                h.chunk_id for h in expected if round(h.similarity, 5) > cutoff
            }, name
        assert all(lo <= h.metadata["date_int"] <= hi for h in expected)
        if date_from is None and date_to.year == 2024:  # type: ignore[union-attr]
            assert len(expected) == 8


def test_passage_text_is_the_article_slice(hash_index: Index, hash_retriever: Retriever) -> None:
    _assert_text_matches_article(hash_index, hash_retriever.search("Sita Adamou sanctions", 10))


def _write(folder: Path, name: str, text: str, day: str | None) -> None:
    header = f" date {day} " if day else ""
    (folder / name).write_text(header + text + "\n", encoding="utf-8")


def test_recency_never_drops_the_best_undated_match(tmp_path: Path) -> None:
    """Six newer articles mention the topic in passing; the undated one is the real answer."""
    corpus = tmp_path / "src"
    corpus.mkdir()
    _write(
        corpus,
        "undated.txt",
        "The zebra census in Niamey counted 42 zebras near the river in the dry season.",
        None,
    )
    for i in range(6):
        _write(
            corpus,
            f"dated{i}.txt",
            f"Officials in region {i} discussed roads, taxes and schools; a zebra was mentioned.",
            f"2023-11-0{i + 1}",
        )
    settings = make_settings(tmp_path, corpus)
    index = Index(settings, HashEmbedder())
    index.ingest()
    retriever = Retriever(index, index.embedder, per_source=1)
    question = "zebra census in Niamey: how many zebras near the river?"
    plain = retriever.search(question, 3)
    assert plain[0].source == "undated.txt"
    newest = retriever.search(question, 3, DateFilter(recency=True))
    assert "undated.txt" in _sources(newest)
    assert newest[0].source == "undated.txt"
    dated = [p.date for p in newest if p.date is not None]
    assert dated == sorted(dated, reverse=True)


# -- slow: the real model on the seed index -----------------------------------------------------


@pytest.fixture(scope="module")
def retriever(seed_index: Index, real_embedder: Any) -> Retriever:
    settings: Settings = seed_index.settings
    return Retriever(
        seed_index,
        real_embedder,
        settings.candidates,
        settings.rrf_k,
        settings.max_chunks_per_source,
    )


@pytest.mark.slow
def test_hybrid_finds_the_general_in_003(retriever: Retriever, seed_index: Index) -> None:
    passages = retriever.search("Which general visited Mali to meet Wagner?", 5)
    hits = [p for p in passages if p.source == S003]
    assert hits, _sources(passages)
    assert any("Salifou Mody" in p.text for p in hits)
    _assert_text_matches_article(seed_index, passages)


@pytest.mark.slow
@pytest.mark.parametrize("top_k", [1, 4, 10])
def test_real_top_k_and_per_article_cap(
    retriever: Retriever, seed_index: Index, top_k: int
) -> None:
    cap = seed_index.settings.max_chunks_per_source
    for question in [
        "Which general visited Mali to meet Wagner?",
        "What did ECOWAS threaten to do?",
        "Why did the coup happen in Niger?",
    ]:
        passages = retriever.search(question, top_k)
        assert len(passages) == min(top_k, 5 * cap)
        assert max(Counter(_sources(passages)).values()) <= cap


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_real_date_range_excludes_003_and_older(retriever: Retriever, mode: Mode) -> None:
    question = "Which general visited Mali to meet Wagner?"
    assert S003 in _sources(retriever.search(question, 10, mode=mode))
    in_range = retriever.search(question, 10, DateFilter(date_from=date(2023, 11, 1)), mode)
    assert in_range and set(_sources(in_range)) <= NOVEMBER
    assert all(p.date is not None and p.date >= date(2023, 11, 1) for p in in_range)
    before = retriever.search(question, 10, DateFilter(date_to=date(2023, 10, 31)), mode)
    assert before and set(_sources(before)) == {S004}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("How many US troops are in Niger?", "1,100 troops"),
        ("Which general visited Mali to meet Wagner?", "Salifou Mody"),
        ("What did Sita Adamou say about the sanctions?", "Sita Adamou"),
    ],
)
def test_recency_alone_never_excludes_003(retriever: Retriever, question: str, fact: str) -> None:
    plain = retriever.search(question, 5)
    assert any(fact in p.text for p in plain if p.source == S003)
    newest = retriever.search(question, 5, DateFilter(recency=True))
    assert any(fact in p.text for p in newest if p.source == S003), _sources(newest)
    for phrased in (question, f"{question[:-1]}, according to the latest reports?"):
        plain = retriever.search(phrased, 5)
        newest = retriever.search(phrased, 5, DateFilter(recency=True))
        # undated passages keep their rank; only the dated ones are reordered by date
        assert _undated(newest) == _undated(plain)


def _undated(passages: list[Passage]) -> list[tuple[int, str]]:
    return [(i, p.chunk_id) for i, p in enumerate(passages) if p.date is None]


@pytest.mark.slow
def test_recency_puts_newer_dated_articles_first(retriever: Retriever) -> None:
    question = "What did ECOWAS say about military intervention in Niger?"
    newest = retriever.search(question, 10, DateFilter(recency=True))
    dated = [p.date for p in newest if p.date is not None]
    plain_dated = [p.date for p in retriever.search(question, 10) if p.date is not None]
    assert dated[0] == max(plain_dated)  # the newest relevant dated article leads the dated ones
    assert S004 in _sources(newest)  # older articles are reordered, not removed


@pytest.mark.slow
def test_modes_return_their_scores(retriever: Retriever) -> None:
    question = "Which general visited Mali to meet Wagner?"
    dense = retriever.search(question, 5, mode="dense")
    assert dense and all(p.dense is not None and p.lexical is None for p in dense)
    assert all(-1.0 <= (p.dense or 0.0) <= 1.0 for p in dense)
    lexical = retriever.search(question, 5, mode="lexical")
    assert lexical and all(p.lexical is not None and p.dense is None for p in lexical)
    assert all((p.lexical or 0.0) > 0 for p in lexical)
    hybrid = retriever.search(question, 5)
    assert all(p.dense is not None or p.lexical is not None for p in hybrid)
    assert any(p.dense is not None and p.lexical is not None for p in hybrid)
    for passages in (dense, lexical, hybrid):
        scores = [p.score for p in passages]
        assert all(s > 0 for s in scores) and scores == sorted(scores, reverse=True)


@pytest.mark.slow
def test_langchain_retriever_through_invoke(retriever: Retriever, seed_index: Index) -> None:
    lc = NewsRetriever(retriever=retriever, top_k=5)
    docs = lc.invoke("Which general visited Mali to meet Wagner?")
    assert len(docs) == 5 and all(isinstance(d, Document) for d in docs)
    for doc in docs:
        meta = doc.metadata
        assert {"source", "start", "end", "date", "chunk_id", "score"} <= set(meta)
        text = seed_index.catalog.text(meta["source"])
        assert text is not None and doc.page_content == text[meta["start"] : meta["end"]]
        assert meta["date"] is None or date.fromisoformat(meta["date"])
    by_source = {d.metadata["source"]: d for d in docs}
    assert S003 in by_source and by_source[S003].metadata["date"] is None
    ranged = NewsRetriever(retriever=retriever, top_k=5, date_from=date(2023, 11, 1))
    docs = ranged.invoke("Which general visited Mali to meet Wagner?")
    assert docs and {d.metadata["source"] for d in docs} <= NOVEMBER


def test_tied_passages_are_the_same_in_a_fresh_and_a_rebuilt_index(tmp_path: Path) -> None:
    """Issue 27, item 7: the same articles indexed in another order (as after a recovery) give
    the same passages in the same order when their scores tie (equal vectors, equal BM25)."""
    words = "ferry timetable changed for islanders after storm damage at the pier".split()
    corpus = tmp_path / "src"
    corpus.mkdir()
    for i in range(12):  # the same words in another order: equal hash vectors and BM25 scores
        shuffled = random.Random(i).sample(words, len(words))
        _write(corpus, f"ferry{i:02d}.txt", " ".join(shuffled) + ".", None)
    fresh = Index(make_settings(tmp_path / "fresh", corpus), HashEmbedder())
    fresh.ingest()
    rebuilt = Index(make_settings(tmp_path / "rebuilt", corpus), HashEmbedder())
    names = sorted(corpus.iterdir())
    rebuilt.ingest(names[6:])  # the second half first: other positions in Chroma and BM25
    rebuilt.ingest()
    question = "Why did the ferry timetable change for islanders?"
    for mode in MODES:
        got = [
            [
                (p.chunk_id, p.source)
                for p in Retriever(i, i.embedder).search(question, 7, mode=mode)
            ]
            for i in (fresh, rebuilt)
        ]
        assert got[0] == got[1], mode
        assert [c for c, _ in got[0]] == sorted(c for c, _ in got[0]), mode  # ties: by chunk id
