"""How much boilerplate reaches the index from web pages: the clean text (which the chunks
slice) of the fixture pages in tests/fixtures/pages/ against the article paragraphs and
headline listed in its expected.json.

    .venv/bin/python bench/boilerplate.py [PAGES_DIR]

Prints, per page and in total, the characters of chunk text that are not article text
(boilerplate), the share of article text that was kept, and the date and title read.
Run it with another checkout's `qa` on PYTHONPATH to compare parsers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qa.ingest.chunking import chunk_article
from qa.ingest.corpus import read_bytes

PAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"


def measure(folder: Path) -> dict[str, dict[str, object]]:
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    results: dict[str, dict[str, object]] = {}
    for name, want in sorted(expected.items()):
        (article,) = read_bytes(name, (folder / name).read_bytes()).articles
        chunks = chunk_article(article, 180, 0, 256, lambda ts: [len(t.split()) for t in ts])
        assert all(article.text[c.start : c.end] == c.text for c in chunks)
        text = article.text  # every chunk is a slice of it; chunks may cut paragraphs
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        article_set = {*want["paragraphs"], want["title"]}  # the headline is article text
        junk = sum(len(p) for p in paragraphs if p not in article_set)
        kept = sum(len(p) for p in want["paragraphs"] if p in text)
        results[name] = {
            "chars": sum(len(p) for p in paragraphs),
            "boilerplate_chars": junk,
            "article_kept": kept / sum(len(p) for p in want["paragraphs"]),
            "date": str(article.date),
            "title": article.title,
            "not_article": [p[:60] for p in paragraphs if p not in article_set],
        }
    return results


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else PAGES
    results = measure(folder)
    total = sum(int(str(r["chars"])) for r in results.values())
    junk = sum(int(str(r["boilerplate_chars"])) for r in results.values())
    for name, r in results.items():
        print(
            f"{name}: {r['boilerplate_chars']}/{r['chars']} boilerplate chars, "
            f"article kept {float(str(r['article_kept'])):.0%}, date {r['date']}, "
            f"title {r['title']!r}"
        )
        for line in r["not_article"]:  # type: ignore[attr-defined]
            print(f"    not article: {line!r}")
    print(f"total: {junk}/{total} = {junk / total:.1%} boilerplate")


if __name__ == "__main__":
    main()
