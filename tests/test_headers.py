"""Article headers: the date and title at the top of .txt/.md files, front matter, HTML metadata.

Each case goes through `read_bytes`, as ingest and upload do: the date, the title, the body
left after the header, and the problems the ingest summary and the upload report list.
"""

from __future__ import annotations

from datetime import date

import pytest

from qa.ingest.corpus import read_bytes
from qa.ingest.headers import match_date, to_date
from qa.text import lead

BODY = "The Kennedy bridge reopened to traffic on Friday."
T = "Niamey opens a bridge"
DEC1 = date(2023, 12, 1)


def read(name: str, raw: str) -> tuple[date | None, str | None, str, list[str]]:
    result = read_bytes(name, raw.encode())
    (article,) = result.articles
    return article.date, article.title, article.text, [p.message for p in result.problems]


@pytest.mark.parametrize(
    ("raw", "day", "title"),
    [
        # the seed form, date and title on one line, on two lines, or the body on the date's line
        (f" date 2023-12-01 Title: {T}\n\n{BODY}", DEC1, T),
        (f" date 2023-12-01\nTitle: {T}\n\n{BODY}", DEC1, T),
        (f" date 2023-12-01\n\nTitle: {T}\n{BODY}", DEC1, T),
        (f" date 2023-12-01 {BODY}", DEC1, None),
        # Date: / Published: / Updated: lines, in any order with a title line or heading
        (f"Date: 2023-12-01\n\n{BODY}", DEC1, None),
        (f"Date: 2023-12-01 Title: {T}\n\n{BODY}", DEC1, T),
        (f"Title: {T}\nPublished: 2023-12-01\n\n{BODY}", DEC1, T),
        (f"Published: December 1, 2023\n{BODY}", DEC1, None),
        (f"Published: Dec. 1, 2023 10:30 AM EST\n{BODY}", DEC1, None),
        (f"Published on: Friday, December 1st, 2023\n{BODY}", DEC1, None),
        (f"Updated: 1 Dec 2023\n{BODY}", DEC1, None),
        (f"Date: 1 December 2023\n{BODY}", DEC1, None),
        (f"Date: 2023-12-01T08:30:00Z\n{BODY}", DEC1, None),
        (f"Date: 2023-12-01 23:59:59+01:00\n{BODY}", DEC1, None),
        (f"Date: 2023/12/01\n{BODY}", DEC1, None),
        (f"Published: 2023-12-01\nUpdated: 2023-12-05\n\n{BODY}", DEC1, None),  # published wins
        (f"Updated: 2023-12-05\nPublished: 2023-12-01\n\n{BODY}", DEC1, None),
        (f"# Niamey opens a bridge\n\nDate: 2023-12-01\n\n{BODY}", DEC1, T),
        (f"# Niamey opens a bridge\n Date: 2023-12-01\n{BODY}", DEC1, T),
    ],
)
def test_text_header_gives_date_title_and_a_clean_body(
    raw: str, day: date, title: str | None
) -> None:
    found_day, found_title, text, problems = read("article.txt", raw)
    assert (found_day, found_title, text) == (day, title, BODY)
    assert problems == []


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        (f"Date: 2023-02-30\n\n{BODY}", "2023-02-30"),
        (f"Date: yesterday\n\n{BODY}", "yesterday"),
        (f"Published: 12/01/2023\n\n{BODY}", "12/01/2023"),  # December 1 or 12 January: ask
        (f" date 2023-02-30 Title: Bad day\n\n{BODY}", "2023-02-30"),
        (f"Published: February 30, 2023\n\n{BODY}", "February 30, 2023"),
    ],
)
def test_unreadable_date_stays_unknown_and_is_reported(raw: str, bad: str) -> None:
    day, _, text, problems = read("bad.txt", raw)
    assert day is None
    assert text == BODY  # the header line is still taken off the body
    (problem,) = problems
    assert bad in problem
    assert "date unknown" in problem


def test_article_without_any_date_is_reported_not_guessed() -> None:
    day, title, text, problems = read("plain.txt", f"Niger, 2023-11-10. {BODY}")
    assert (day, title) == (None, None)
    assert text.startswith("Niger, 2023-11-10.")  # a date in the body is not a header
    assert problems == ["no date found: shown as date unknown"]


def test_a_better_date_elsewhere_is_kept_and_the_bad_one_still_reported() -> None:
    day, _, _, problems = read("mixed.txt", f"Published: soon\nUpdated: 2023-12-01\n\n{BODY}")
    assert day == DEC1
    assert problems == ["Published: 'soon' is not a date we can read: dated 2023-12-01 instead"]


def test_body_starting_like_a_header_word_is_left_alone() -> None:
    raw = "Dates of the talks were not announced.\n\nTitle fights resumed in Niamey."
    day, title, text, _ = read("words.txt", raw)
    assert (day, title) == (None, None)
    assert text == "Dates of the talks were not announced.\n\nTitle fights resumed in Niamey."


# -- Markdown ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        f"---\ntitle: Niamey opens a bridge\ndate: 2023-12-01\n---\n\n{BODY}\n",
        f'---\ntitle: "Niamey opens a bridge"\ndate: "December 1, 2023"\n---\n{BODY}\n',
        f"---\ntitle: Niamey opens a bridge\npublished: 2023-12-01T08:30:00Z\n---\n{BODY}\n",
        f"---\ndate: 2023-12-01\n---\n# Niamey opens a bridge\n\n{BODY}\n",
        f"# Niamey opens a bridge\n\nPublished: December 1, 2023\n\n{BODY}\n",
    ],
)
def test_markdown_front_matter_and_heading(raw: str) -> None:
    day, title, text, problems = read("bridge.md", raw)
    assert (day, title, text, problems) == (DEC1, "Niamey opens a bridge", BODY, [])


def test_front_matter_with_a_bad_date_is_reported() -> None:
    day, title, text, problems = read("bad.md", f"---\ntitle: T\ndate: 2023-02-30\n---\n{BODY}")
    assert (day, title, text) == (None, "T", BODY)
    (problem,) = problems
    assert "2023-02-30" in problem and "date unknown" in problem


def test_front_matter_that_is_not_yaml_is_dropped_and_reported() -> None:
    day, _, text, problems = read("broken.md", f"---\ntitle: [unclosed\n---\n{BODY}")
    assert (day, text) == (None, BODY)
    assert any("front matter" in p for p in problems)


def test_a_rule_line_inside_a_txt_is_not_front_matter() -> None:
    _, _, text, _ = read("rule.txt", f"---\ntitle: not metadata\n---\n{BODY}")
    assert text.startswith("---")


# -- HTML --------------------------------------------------------------------------------------


def page(head: str, body: str = f"<p>{BODY}</p>") -> str:
    return f"<!doctype html><html><head>{head}</head><body><article>{body}</article></body></html>"


@pytest.mark.parametrize(
    ("raw", "day", "title"),
    [
        (page("<title>Niamey opens a bridge</title>"), None, "Niamey opens a bridge"),
        (page("", f'<time datetime="2023-12-01T08:00:00Z">Friday</time><p>{BODY}</p>'), DEC1, None),
        (
            page('<meta property="article:published_time" content="2023-12-01T08:00+01:00">'),
            DEC1,
            None,
        ),
        (
            page(
                '<meta property="og:title" content="Niamey opens a bridge"><title>x | Site</title>'
            ),
            None,
            "Niamey opens a bridge",
        ),
        (
            page(
                '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
                '[{"@type": "WebPage"}, {"@type": "NewsArticle", '
                '"headline": "Niamey opens a bridge",'
                ' "datePublished": "2023-12-01T10:00:00Z", "dateModified": "2023-12-04"}]}</script>'
            ),
            DEC1,
            "Niamey opens a bridge",
        ),
        (page("", f"<p>Published: December 1, 2023</p><p>{BODY}</p>"), DEC1, None),
    ],
)
def test_html_title_and_date_from_markup(raw: str, day: date | None, title: str | None) -> None:
    result = read_bytes("page.html", raw.encode())
    (article,) = result.articles
    assert (article.date, article.title) == (day, title)
    assert article.text.endswith(BODY)
    assert "datePublished" not in article.text and "@graph" not in article.text
    messages = [p.message for p in result.problems]
    assert messages == ([] if day else ["no date found: shown as date unknown"])


def test_html_published_time_wins_over_a_time_element() -> None:
    raw = page(
        '<meta property="article:published_time" content="2023-12-01">',
        f'<time datetime="2021-05-05">comment</time><p>{BODY}</p>',
    )
    assert read_bytes("page.html", raw.encode()).articles[0].date == DEC1


def test_html_unreadable_time_is_reported() -> None:
    raw = page("", f'<time datetime="yesterday">yesterday</time><p>{BODY}</p>')
    result = read_bytes("page.html", raw.encode())
    assert result.articles[0].date is None
    (problem,) = result.problems
    assert "'yesterday'" in problem.message and "date unknown" in problem.message


# -- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2023-12-01", DEC1),
        ("2023-12-01T23:30:00-05:00", DEC1),
        ("December 1, 2023", DEC1),
        ("Sept 1, 2023", date(2023, 9, 1)),
        ("1st of December 2023", DEC1),
        ("2023-02-30", None),
        ("yesterday", None),
        ("12/01/2023", None),
        ("2023", None),
    ],
)
def test_to_date(text: str, day: date | None) -> None:
    assert to_date(text) == day


def test_match_date_tells_impossible_from_absent() -> None:
    assert match_date("2023-02-30 rest") == (None, 10)
    assert match_date("no date") is None


def test_lead_is_the_first_sentence_cut_at_a_word() -> None:
    assert lead("U.S. officials met. Then more.") == "U.S. officials met."
    assert lead("Niger’s junta asked Wagner for help. It denied it.") == (
        "Niger’s junta asked Wagner for help."
    )
    long = "word " * 60
    assert lead(long, 30).endswith("…") and len(lead(long, 30)) <= 31


def test_a_url_line_is_header_not_body() -> None:
    raw = (
        f"Date: 2023-12-01\nTitle: {BODY[:10]}\nAuthor: Ada Sule\n"
        f"URL: https://news.example/bridge?id=3\n\n{BODY}"
    )
    (article,) = read_bytes("linked.txt", raw.encode()).articles
    assert (article.date, article.url, article.author, article.text) == (
        DEC1,
        "https://news.example/bridge?id=3",
        "Ada Sule",
        BODY,
    )
