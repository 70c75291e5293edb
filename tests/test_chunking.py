"""Chunks: exact offsets, the model's token limit, sentence overlap, stable ids, metadata."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date
from typing import Any

import pytest

from qa.ingest.chunking import Chunk, chunk_article, count_tokens, sentence_spans
from qa.ingest.corpus import corpus_files, read_paths
from qa.types import Article, ChunkMeta
from tests.conftest import SEEDS

BUDGET, OVERLAP = 180, 30  # the Settings defaults


def _seeds() -> list[Article]:
    return read_paths(corpus_files(SEEDS), SEEDS).articles


SEED_ARTICLES = _seeds()
SEED_IDS = [a.source[:3] for a in SEED_ARTICLES]


def _adversarial() -> Article:
    """Long unpunctuated sentence, abbreviations, decimals, quotes, a rule line, short lines."""
    long_sentence = " ".join(
        f"the convoy of {n} trucks moved north past the border post at kilometre {n * 7}"
        for n in range(1, 60)
    )
    text = "\n\n".join(
        [
            "Gen. Mody met U.S. and U.K. envoys on Aug. 3 in Bamako. "
            "Col. Abdourahmane Tchiani did not attend. He said the U.N. was informed, e.g. by "
            "letter. Troops numbered 1,500 and 1,100, i.e. 2,600 in total, at 3.5 per cent.",
            long_sentence,
            "“Coups are no longer acceptable.” She added: “It’s time to call it quits.” "
            "The price rose 12.5% to $4.75. Was it enough? Nobody knows! The end…",
            "=" * 600,
            "Short line\nAnother short line without a full stop\nA third.",
        ]
    )
    return Article("adversarial.txt", text, date(2023, 11, 10), "Adversarial")


def _many_word_pieces() -> Article:
    """Text with far more model word pieces than cl100k tokens (Cyrillic, rare names, digits)."""
    vocabulary = (
        "достопримечательности высокопревосходительство человеконенавистничество "
        "переосвидетельствующимися Тчиани Базум Ниамей Abdourahmane Tillabéri "
        "U.S.-led (F-16s) 4,000,000 0x7f3a9c 3fa85f64-5717"
    )
    words = vocabulary.split()
    sentences = [
        " ".join(words[(i + j) % len(words)] for j in range(25 + i % 7)) + "." for i in range(40)
    ]
    paragraphs = [" ".join(sentences[i : i + 8]) for i in range(0, 40, 8)]
    unpunctuated = " ".join(words[i % len(words)] for i in range(500))
    return Article("pieces.txt", "\n\n".join([*paragraphs, unpunctuated]), None, None)


def _assert_offsets(article: Article, chunks: list[Chunk]) -> None:
    assert chunks, article.source
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
        assert chunk.source == article.source
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(article.text)


def _assert_covers(article: Article, chunks: list[Chunk]) -> None:
    """Every non-space character of the clean text is in some chunk."""
    covered = [False] * len(article.text)
    for chunk in chunks:
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    missing = [i for i, ch in enumerate(article.text) if not ch.isspace() and not covered[i]]
    assert missing == []


# -- offsets -----------------------------------------------------------------------------


@pytest.mark.parametrize("article", SEED_ARTICLES, ids=SEED_IDS)
def test_seed_chunk_offsets_slice_the_clean_text_exactly(article: Article) -> None:
    chunks = chunk_article(article, BUDGET, OVERLAP)
    _assert_offsets(article, chunks)
    _assert_covers(article, chunks)
    assert len(chunks) > 1  # every seed is longer than one chunk
    assert max(count_tokens([c.text for c in chunks])) <= BUDGET


def test_adversarial_text_offsets_are_exact_and_cover_everything() -> None:
    article = _adversarial()
    chunks = chunk_article(article, BUDGET, OVERLAP)
    _assert_offsets(article, chunks)
    _assert_covers(article, chunks)


def test_abbreviations_and_decimals_do_not_end_sentences() -> None:
    text = (
        "Gen. Mody met U.S. envoys on Aug. 3 in Bamako. The price rose 12.5% to $4.75 on "
        "Monday. Mr. Bazoum, i.e. the president, stayed. “It’s time to call it quits.” She left."
    )
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "Gen. Mody met U.S. envoys on Aug. 3 in Bamako.",
        "The price rose 12.5% to $4.75 on Monday.",
        "Mr. Bazoum, i.e. the president, stayed.",
        "“It’s time to call it quits.”",
        "She left.",
    ]


def test_paragraph_breaks_end_sentences() -> None:
    text = "First paragraph without a stop\n\nSecond one. Third sentence"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "First paragraph without a stop",
        "Second one.",
        "Third sentence",
    ]


# -- the model's limit, with its own tokenizer -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("article", SEED_ARTICLES, ids=SEED_IDS)
def test_seed_chunks_fit_the_model(real_embedder: Any, article: Article) -> None:
    chunks = chunk_article(
        article, BUDGET, OVERLAP, real_embedder.max_tokens, real_embedder.count_tokens
    )
    _assert_offsets(article, chunks)
    assert real_embedder.max_tokens == 256
    assert max(real_embedder.count_tokens([c.text for c in chunks])) <= 256


@pytest.mark.slow
def test_text_with_many_more_word_pieces_than_cl100k_tokens_fits_the_model(
    real_embedder: Any,
) -> None:
    article = _many_word_pieces()
    pieces = real_embedder.count_tokens([article.text])[0]
    assert pieces > 1.5 * count_tokens([article.text])[0]  # the trap is real ...
    unfitted = chunk_article(article, BUDGET, OVERLAP)
    assert max(real_embedder.count_tokens([c.text for c in unfitted])) > 256  # ... and bites

    chunks = chunk_article(
        article, BUDGET, OVERLAP, real_embedder.max_tokens, real_embedder.count_tokens
    )
    _assert_offsets(article, chunks)
    _assert_covers(article, chunks)
    assert max(real_embedder.count_tokens([c.text for c in chunks])) <= 256


@pytest.mark.slow
def test_adversarial_text_fits_the_model(real_embedder: Any) -> None:
    # a 600-character '=' rule is 10 cl100k tokens but 600 word pieces, in one unbreakable word
    article = _adversarial()
    chunks = chunk_article(
        article, BUDGET, OVERLAP, real_embedder.max_tokens, real_embedder.count_tokens
    )
    _assert_offsets(article, chunks)
    _assert_covers(article, chunks)
    assert max(real_embedder.count_tokens([c.text for c in chunks])) <= 256


def test_unbreakable_word_longer_than_the_limit_is_cut() -> None:
    def pieces(texts: list[str]) -> list[int]:  # one word piece per character, like '=' in BERT
        return [len(t) + 2 for t in texts]

    article = Article("rule.txt", "Intro.\n\n" + "=" * 1000 + "\n\nOutro.", None)
    chunks = chunk_article(article, BUDGET, OVERLAP, 256, pieces)
    _assert_offsets(article, chunks)
    _assert_covers(article, chunks)
    assert max(pieces([c.text for c in chunks])) <= 256


# -- overlap -----------------------------------------------------------------------------


def _sentence_bounds(text: str) -> tuple[set[int], set[int]]:
    spans = sentence_spans(text)
    return {s for s, _ in spans}, {e for _, e in spans}


def _check_overlaps(article: Article, chunks: list[Chunk]) -> int:
    """Overlaps are whole sentences within the budget, and as long as the budget allows.

    Returns how many consecutive pairs overlap.
    """
    starts, ends = _sentence_bounds(article.text)
    overlapping = 0
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start in starts and prev.end in ends
        assert nxt.start > prev.start and nxt.end > prev.end
        shared = article.text[nxt.start : prev.end]
        if nxt.start < prev.end:
            overlapping += 1
            assert count_tokens([shared])[0] <= OVERLAP
            assert nxt.text.startswith(shared) and prev.text.endswith(shared)
        # the overlap could not take one more sentence of the previous chunk
        inside = [(s, e) for s, e in sentence_spans(article.text) if prev.start < s < nxt.start]
        if inside:
            s, _ = inside[-1]
            assert count_tokens([article.text[s : prev.end]])[0] > OVERLAP
    return overlapping


@pytest.mark.parametrize("article", SEED_ARTICLES, ids=SEED_IDS)
def test_seed_overlaps_are_whole_sentences(article: Article) -> None:
    chunks = chunk_article(article, BUDGET, OVERLAP)
    assert _check_overlaps(article, chunks) >= 1


def test_short_sentences_overlap_between_every_pair_of_chunks() -> None:
    text = " ".join(f"Troops moved to post number {n} at dawn." for n in range(120))
    article = Article("short.txt", text, None)
    chunks = chunk_article(article, BUDGET, OVERLAP)
    assert len(chunks) >= 4
    assert _check_overlaps(article, chunks) == len(chunks) - 1


def test_no_overlap_when_disabled() -> None:
    text = " ".join(f"Troops moved to post number {n} at dawn." for n in range(120))
    article = Article("short.txt", text, None)
    chunks = chunk_article(article, BUDGET, 0)
    assert all(a.end < b.start for a, b in itertools.pairwise(chunks))
    assert " ".join(c.text for c in chunks) == text


# -- ids and metadata --------------------------------------------------------------------


def test_chunk_ids_are_stable_across_runs() -> None:
    first = [c.chunk_id for a in _seeds() for c in chunk_article(a, BUDGET, OVERLAP)]
    second = [c.chunk_id for a in _seeds() for c in chunk_article(a, BUDGET, OVERLAP)]
    assert first == second
    assert len(set(first)) == len(first)


def test_chunk_ids_change_with_the_text_and_only_where_it_changed() -> None:
    article = next(a for a in SEED_ARTICLES if a.source.startswith("002"))
    before = chunk_article(article, BUDGET, OVERLAP)
    edited = dataclasses.replace(article, text=article.text + " One more closing sentence.")
    after = chunk_article(edited, BUDGET, OVERLAP)
    assert before[-1].chunk_id not in {c.chunk_id for c in after}
    assert [c.chunk_id for c in before[:-2]] == [c.chunk_id for c in after[: len(before) - 2]]

    first_word = dataclasses.replace(article, text="Meanwhile, " + article.text)
    assert chunk_article(first_word, BUDGET, OVERLAP)[0].chunk_id != before[0].chunk_id


def test_chunk_ids_depend_on_source_date_and_title() -> None:
    article = SEED_ARTICLES[0]
    base = chunk_article(article, BUDGET, OVERLAP)[0]
    for change in (
        {"source": "copy.txt"},
        {"date": date(2020, 1, 1)},
        {"title": "Another title"},
    ):
        other = chunk_article(dataclasses.replace(article, **change), BUDGET, OVERLAP)[0]
        assert other.chunk_id != base.chunk_id
        assert other.content_hash == base.content_hash


@pytest.mark.parametrize("article", SEED_ARTICLES, ids=SEED_IDS)
def test_metadata_has_iso_date_and_yyyymmdd_or_neither(article: Article) -> None:
    for chunk in chunk_article(article, BUDGET, OVERLAP):
        meta = chunk.metadata()
        assert meta["source"] == article.source
        assert meta["chunk_id"] == chunk.chunk_id
        assert (meta["start"], meta["end"]) == (chunk.start, chunk.end)
        assert meta["article_hash"] == article.content_hash
        assert all(v is not None for v in meta.values())  # Chroma rejects None values
        if article.source.startswith("003"):
            assert "date" not in meta and "date_int" not in meta
        else:
            assert article.date is not None
            assert meta["date"] == article.date.isoformat()
            assert meta["date_int"] == int(article.date.strftime("%Y%m%d"))
            assert isinstance(meta["date_int"], int)
        if article.source.startswith("004"):
            assert meta["title"].startswith("Niger’s Coup Leader")
        else:
            assert "title" not in meta


def test_seed_dates_in_metadata() -> None:
    ints = {a.source[:3]: chunk_article(a, BUDGET, OVERLAP)[0].meta.date_int for a in SEED_ARTICLES}
    assert ints == {
        "000": 20231110,
        "001": 20231107,
        "002": 20231111,
        "003": None,
        "004": 20230806,
    }


def test_chunk_metadata_round_trips_through_chromas_flat_form() -> None:
    for article in SEED_ARTICLES:
        for chunk in chunk_article(article, BUDGET, OVERLAP):
            flat = chunk.metadata()
            assert all(isinstance(v, str | int) for v in flat.values())  # Chroma's scalars
            assert ChunkMeta.from_chroma(flat) == chunk.meta
            assert ("date" in flat) == (chunk.date is not None)  # absent, never None


def test_chunk_metadata_of_an_index_without_flags_says_not_computed() -> None:
    chunk = chunk_article(SEED_ARTICLES[0], BUDGET, OVERLAP)[0]
    flat = {k: v for k, v in chunk.metadata().items() if k != "flagged"}
    assert ChunkMeta.from_chroma(flat).flagged is None
