"""Web pages through trafilatura: the article's text, title and date, and none of the page's
navigation, cookie banners, ads, related links or comments."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from qa.chunking import chunk_article
from qa.corpus import read_bytes

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
EXPECTED = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
BOILERPLATE = (
    "cookie",
    "Accept all",
    "partners store",
    "ADVERTISEMENT",
    "Advertisement",
    "Sponsored",
    "Related stories",
    "Most read",
    "You may also like",
    "Subscribe",
    "newsletter",
    "Share on",
    "Log in",
    "comment",
    "Finally!",
    "disgrace",
    "orchardgirl",
    "Climate change is real",
    "Sunday reading hour",
    "Leave a Reply",
    "All rights reserved",
    "Privacy",
    "Classifieds",
    "Ten things to do",
)


def _words(n: list[str]) -> list[int]:
    return [len(t.split()) for t in n]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_page_chunks_hold_the_article_and_no_boilerplate(name: str) -> None:
    want = EXPECTED[name]
    result = read_bytes(name, (PAGES / name).read_bytes())
    (article,) = result.articles
    assert result.problems == []
    assert article.title == want["title"]
    assert article.date == date.fromisoformat(want["date"])
    assert article.author == want["author"]
    chunks = chunk_article(article, 120, 20, 256, _words)
    joined = " ".join(c.text for c in chunks)
    for paragraph in want["paragraphs"]:
        assert paragraph in article.text
        for sentence in paragraph.split(". "):
            assert sentence in joined
    for chunk in chunks:
        assert (chunk.date, chunk.title) == (article.date, article.title)
        for junk in BOILERPLATE:
            assert junk.lower() not in chunk.text.lower(), (name, junk)


def test_date_is_never_taken_from_the_url_or_the_text() -> None:
    raw = (
        '<html><head><title>Ferry timetable changes</title><link rel="canonical" '
        'href="https://news.example/2021/05/06/ferry"></head><body><article>'
        "<p>The ferry company changed its timetable on the northern route, it said.</p>"
        "<p>The new timetable was posted 2022-03-04 on the company website.</p>"
        "</article></body></html>"
    )
    result = read_bytes("ferry.html", raw.encode())
    (article,) = result.articles
    assert article.date is None
    assert article.url == "https://news.example/2021/05/06/ferry"
    assert [p.message for p in result.problems] == ["no date found: shown as date unknown"]


def test_meta_date_wins_over_a_comment_time_element() -> None:
    (article,) = read_bytes("p.html", (PAGES / "harbour-bridge.html").read_bytes()).articles
    assert article.date == date(2024, 3, 14)  # the comment's <time> says 2023-02-02


def test_a_page_without_main_text_falls_back_to_every_paragraph() -> None:
    raw = b"<html><body><div>Short note.</div></body></html>"
    (article,) = read_bytes("note.html", raw).articles
    assert article.text == "Short note."


def test_a_page_without_any_text_is_skipped_and_reported() -> None:
    result = read_bytes("empty.html", b"<html><head><title>x</title></head><body></body></html>")
    assert result.articles == []
    assert [(p.message, p.skipped) for p in result.problems] == [
        ("no text after cleaning: skipped", True)
    ]
