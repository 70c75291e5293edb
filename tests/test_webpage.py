"""Web pages through trafilatura: the article's text, title and date, and none of the page's
navigation, cookie banners, ads, related links or comments."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from qa.ingest.chunking import chunk_article
from qa.ingest.corpus import read_bytes

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


# -- issue 27, item 9: a deeply nested page, a cookie-consent paragraph -----------------------

STORY = (
    "The Quillan council approved a harbour budget of 12 million euros on Friday.",
    "Work on the north quay starts in May, the harbour master said.",
)


@pytest.mark.parametrize("depth", [300, 20_000])
def test_a_deeply_nested_page_keeps_its_text(depth: int) -> None:
    """lxml stops building the tree at 256 levels: the page kept only its title."""
    from qa.ingest.webpage import parse_html

    body = "".join(f"<p>{s}</p>" for s in STORY)
    raw = (
        "<html><head><title>Deep page</title></head><body><nav>Home | News</nav>"
        + "<div>" * depth
        + body
        + "</div>" * depth
        + "</body></html>"
    )
    page = parse_html(raw)
    assert page.body.split("\n\n") == list(STORY)
    assert page.title == "Deep page"


def test_a_cookie_consent_paragraph_never_reaches_the_article() -> None:
    from qa.ingest.cleaning import clean_text
    from qa.ingest.corpus import read_bytes

    nav = "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(300))
    consent = (
        "We use cookies to improve your experience on our site and to show you relevant "
        "advertising. By continuing to browse, you agree to our use of cookies."
    )
    raw = (
        f"<html><head><title>Ferry news</title></head><body><nav><ul>{nav}</ul></nav>"
        f"<div class='consent'><p>{consent}</p><button>Accept all cookies</button></div>"
        f"<main><p>{STORY[0]}</p></main><footer><ul>{nav}</ul></footer></body></html>"
    )
    (article,) = read_bytes("ferry.html", raw.encode()).articles
    assert article.text == STORY[0]
    news = "Regulators found that the site uses cookies to track users without their consent."
    assert clean_text(news) == news  # news about cookies is not a banner
