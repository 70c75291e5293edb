"""News dumps: one article per record of a .jsonl or .csv file, named FILE#ID, with its fields
under any of their common names."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

from qa.ingest.cleaning import Problem, acceptable, to_article
from qa.text import has_control
from qa.types import Article, parse_date

MAX_RECORD_CHARS = 2_000_000  # one .jsonl line (a .csv field: the csv module's 131,072)


def _json_record(line: str) -> dict[str, object] | str:
    """One JSON Lines record, or why it is not one (nesting and size are bounded)."""
    if len(line) > MAX_RECORD_CHARS:
        return f"is {len(line)} characters; the limit is {MAX_RECORD_CHARS}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"is not valid JSON: {exc.msg}"
    except RecursionError:
        return "is nested too deeply to be a news record"
    if not isinstance(record, dict):
        return f"is a JSON {type(record).__name__}, not an object with a text field"
    return record


def _records(
    name: str, raw: str, problems: list[Problem]
) -> Iterator[tuple[int, dict[str, object]]]:
    """(line, record) of a dump; a bad record is a problem for that record only."""
    if name.lower().endswith(".csv"):
        reader = csv.reader(io.StringIO(raw))
        header = next(reader, [])
        last = reader.line_num
        for row in reader:  # n is the file line where the record starts, as for .jsonl
            n, last = last + 1, reader.line_num
            if any(cell.strip() for cell in row):
                yield n, dict(zip(header, row, strict=False))
        return
    for n, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            record = _json_record(line)
            if isinstance(record, str):
                problems.append(Problem(f"{name} line {n}", f"record {record}: skipped", True))
            else:
                yield n, record


# The names dumps give each field of a record, the first present and non-empty wins (matched
# case-insensitively, spaces and hyphens read as underscores): RealTime QA and newspaper3k
# (`url`, `title`, `publish_date`, `authors`), news-please (`maintext`, `date_publish`), CSV
# exports (`Headline`, `Published At`, `Link`, `Byline`).
FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text", "content", "body", "maintext", "article_text"),
    "title": ("title", "headline"),
    "date": (
        "date", "publish_date", "published_date", "publication_date", "date_publish",
        "date_published", "published", "published_at", "pub_date", "pubdate",
    ),
    "url": ("url", "link", "source_url", "article_url", "canonical_url"),
    "author": ("author", "authors", "byline", "creator", "writer"),
}  # fmt: skip


def _field(record: dict[str, object], name: str) -> object:
    """A record's value for one of FIELDS, under whichever common name it is written."""
    found = {re.sub(r"[\s-]+", "_", str(k).strip().lower()): v for k, v in record.items()}
    for key in FIELDS[name]:
        value = found.get(key)
        if value not in (None, "", []):
            return value
    return None


def _author(value: object) -> str | None:
    """One author or a list of them (RealTime QA's `authors`) as one line."""
    names = value if isinstance(value, list) else [value]
    text = ", ".join(" ".join(str(n).split()) for n in names if n is not None and str(n).strip())
    return text or None


def _url(value: object) -> str | None:
    """A web address to link a citation to; anything but http(s) is dropped."""
    text = str(value).strip() if value is not None else ""
    return text if re.match(r"https?://\S+\Z", text, re.I) else None


def parse_dump(name: str, raw: str, problems: list[Problem]) -> list[Article]:
    """One article per record of a .jsonl or .csv dump, named FILE#ID (or FILE#LINE), with
    its title, date, URL and author under any of their common names (FIELDS).

    A record whose id repeats an earlier one is skipped: one name, one article."""
    articles = []
    seen: dict[str, int] = {}
    for n, record in _records(name, raw, problems):
        ident = record.get("id") or record.get("source") or record.get("article_id") or n
        if not _safe_id(str(ident)):
            message = f"record id {str(ident)[:80]!r} is not a safe name: named by its line {n}"
            problems.append(Problem(f"{name}#{n}", message, False))
            ident = n
        source = f"{name}#{ident}"
        if source in seen:
            message = f"record id {ident!s} repeats the record of line {seen[source]}: skipped"
            problems.append(Problem(f"{source} (line {n})", message, True))
            continue
        seen[source] = n
        text = _field(record, "text")
        if not isinstance(text, str | int | float | type(None)):
            problems.append(Problem(source, "record text is not a string: skipped", True))
            continue
        day = parse_date(_field(record, "date"))
        title = _field(record, "title")
        article = to_article(
            source,
            str(text or ""),
            day,
            str(title) if title else None,
            _url(_field(record, "url")),
            _author(_field(record, "author")),
        )
        if acceptable(article, problems):
            articles.append(article)
    return articles


def _safe_id(ident: str) -> bool:
    """A record id usable in a source name: no path parts, `#`, `%`, control characters, leading
    dot or space, at most 200 characters (`../../outside2` is named by its line instead)."""
    return (
        0 < len(ident) <= 200
        and not has_control(ident)
        and not any(c in ident for c in "/\\#%?")
        and not ident.startswith((".", " "))
        and not ident.endswith(" ")
    )
