"""A web page's main text, title, date and address, with trafilatura.

trafilatura finds the article among navigation, cookie banners, comments, ads and related links.
The date is read only where the markup states it (`<meta>` published/modified tags, JSON-LD
`datePublished`/`dateModified`, the first `<time datetime>`) or from the text's own header lines;
trafilatura's date (htmldate) is not used, as it also guesses from the URL and the page's text.
"""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from typing import Any

from lxml import html as lxml_html
from lxml.etree import ParserError

from qa.ingest.headers import Header, json_ld_fields, split_header

log = logging.getLogger(__name__)

PUBLISHED = frozenset({"article:published_time", "date", "pubdate", "dc.date", "datepublished"})
UPDATED = frozenset({"article:modified_time", "og:updated_time", "datemodified"})
_LD_TYPE = 'translate(@type, "LDJSON", "ldjson")="application/ld+json"'


def _markup(tree: Any) -> Header:
    """The date and title the page's markup states (never guessed)."""
    meta = Header(body="")
    for tag in tree.iter("meta"):
        key = (tag.get("property") or tag.get("name") or tag.get("itemprop") or "").lower()
        if key in PUBLISHED:
            meta.offer_date(tag.get("content"), 0, f"<meta {key}>")
        elif key in UPDATED:
            meta.offer_date(tag.get("content"), 1, f"<meta {key}>")
    for script in tree.xpath(
        '//script[translate(@type, "LDJSON", "ldjson")="application/ld+json"]'
    ):
        found = json_ld_fields(script.text_content())
        meta.offer_date(found.get("datePublished"), 0, "JSON-LD datePublished")
        meta.offer_date(found.get("dateModified"), 1, "JSON-LD dateModified")
        if isinstance(found.get("headline"), str):
            meta.offer_title(found["headline"])
    times = tree.xpath("//time[@datetime]")
    if times:
        meta.offer_date(times[0].get("datetime"), 0, "<time datetime>")
    return meta


def _extract(raw: str) -> tuple[str, str | None, str | None, str | None]:
    """(main text with blank lines between paragraphs, title, canonical URL, author) by
    trafilatura, or its baseline extraction (every paragraph) when it finds no main text."""
    import trafilatura

    document = trafilatura.bare_extraction(
        raw,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params={"extensive_search": False},
    )
    if isinstance(document, dict):  # only with the deprecated as_dict=True
        raise TypeError("trafilatura returned a dict: expected a Document")
    text = document.text if document is not None and document.text else ""
    if not text.strip():
        text = trafilatura.baseline(raw)[1]
    title = document.title if document is not None else None
    url = document.url if document is not None else None
    author = document.author if document is not None else None
    return text.replace("\n", "\n\n"), title, url, author


class _Flat(HTMLParser):
    """Every paragraph of a page, whatever its nesting, for pages lxml cannot build a tree of
    (20,000 nested <div>s): text outside script, style, nav, header, footer and forms, a
    paragraph per block element."""

    SKIP = frozenset({"script", "style", "noscript", "template", "nav", "header", "footer",
                      "form", "aside", "button", "select", "svg", "head"})  # fmt: skip
    BLOCK = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
                       "h6", "section", "article", "main", "blockquote", "pre", "table", "ul",
                       "ol", "dd", "dt", "figcaption", "body"})  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping = 0
        self.in_title = False
        self.title: list[str] = []
        self.paragraphs: list[str] = []
        self.current: list[str] = []

    def _end_paragraph(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.paragraphs.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self._end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self._end_paragraph()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.current.append(data)

    @classmethod
    def read(cls, raw: str) -> tuple[str, str | None]:
        """(paragraphs separated by blank lines, the <title>)."""
        parser = cls()
        parser.feed(raw)
        parser.close()
        parser._end_paragraph()
        return "\n\n".join(parser.paragraphs), " ".join("".join(parser.title).split()) or None


def parse_html(raw: str) -> Header:
    """The page's article as a `Header`: body text, date, title and URL, with notes on dates
    the markup states in a form we cannot read."""
    parser = lxml_html.HTMLParser()
    try:
        tree = lxml_html.document_fromstring(raw, parser=parser)
    except (ParserError, ValueError) as exc:
        raise ValueError(f"not an HTML page: {exc}") from exc
    meta = _markup(tree)
    if any("Excessive depth" in e.message for e in parser.error_log):  # the tree is cut short
        text, title = _Flat.read(raw)
        header = split_header(text)
        header.title = meta.title or title or header.title
        if meta.date_rank < 9:
            header.date, header.date_rank = meta.date, meta.date_rank
        header.notes = meta.notes + header.notes
        return header
    if not re.search(r"<\s*(?:html|body)\b", raw, re.IGNORECASE):  # a fragment (feed content)
        raw = f"<html><body>{raw}</body></html>"  # trafilatura reads documents, not fragments
    text, title, url, author = _extract(raw)
    header = split_header(text)  # header lines at the top of the article's own text
    if meta.date_rank < 9:  # the markup's date wins over a date line in the text
        header.date, header.date_rank = meta.date, meta.date_rank
    header.title = meta.title or title or header.title
    header.url = url if url and url.startswith(("http://", "https://")) else header.url
    header.author = author or header.author
    header.notes = meta.notes + header.notes
    return header
