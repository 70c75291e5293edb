"""qa/text.py: the shared helpers every step uses (sentences, markers, words)."""

from __future__ import annotations

from qa.text import (
    STOP_WORDS,
    content_words,
    key_terms,
    markers,
    sentence_spans,
    split_cited,
    stem,
    strip_markers,
)


def test_sentences_do_not_end_at_abbreviations_or_initials() -> None:
    text = "Gen. Salifou Mody met Wagner. The U.S. has 1,100 troops.\nA new paragraph"
    pieces = [text[s:e] for s, e in sentence_spans(text)]
    assert pieces == [
        "Gen. Salifou Mody met Wagner.",
        "The U.S. has 1,100 troops.",
        "A new paragraph",
    ]


def test_markers_are_read_stripped_and_kept_with_their_sentence() -> None:
    answer = "Mody met Wagner. [1] The U.S. has 1,100 troops [2, 3]. Niger is far."
    assert split_cited(answer) == [
        "Mody met Wagner. [1]",
        "The U.S. has 1,100 troops [2, 3].",
        "Niger is far.",
    ]
    assert markers("troops [2, 3] and [1]") == [2, 3, 1]
    assert strip_markers("Mody met Wagner [1]. [2]") == "Mody met Wagner."


def test_content_words_stem_and_drop_stop_words() -> None:
    assert stem("visited") == stem("visiting") == stem("visits") == "visit"
    assert content_words("The general visited the troops") == {"general", "visit", "troop"}
    assert "the" in STOP_WORDS
    assert content_words("Gen. Mody met Wagner") == {"gen", "modi", "met", "wagner"}  # no aliases


def test_key_terms_are_numbers_and_names_not_the_first_word() -> None:
    assert key_terms("Officials said 1,100 US troops are in Niger") == ["1100", "us", "niger"]
