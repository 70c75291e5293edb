"""Reading and cleaning articles: seed headers, boilerplate, repeats, file types, bad files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.ingest.cleaning import clean_text
from qa.ingest.corpus import ReadResult, corpus_files, read_bytes, read_paths
from qa.types import Article
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    result = read_paths(corpus_files(SEEDS), SEEDS)
    assert [(p.source, p.message) for p in result.problems] == [
        ("003_dc7ce24594d87c5a.txt", "no date found: shown as date unknown")
    ]
    return {a.source[:3]: a for a in result.articles}


@pytest.mark.parametrize(
    ("key", "day"),
    [
        ("000", date(2023, 11, 10)),
        ("001", date(2023, 11, 7)),
        ("002", date(2023, 11, 11)),
        ("004", date(2023, 8, 6)),
    ],
)
def test_seed_dates_are_parsed_and_removed_from_the_body(
    seeds: dict[str, Article], key: str, day: date
) -> None:
    article = seeds[key]
    assert article.date == day
    assert day.isoformat() not in article.text
    assert not article.text.lstrip().lower().startswith("date")
    assert article.text == article.text.strip()


def test_seed_004_title_is_taken_from_the_header() -> None:
    article = read_paths([SEEDS / "004_4d4a022be80d252f.txt"], SEEDS).articles[0]
    title = "Niger’s Coup Leader Seeks Russian Support, While Algeria Warns of Intervention Threat"
    assert article.title == title
    assert "Title:" not in article.text
    assert title not in article.text
    assert article.text.startswith("The political crisis in Niger takes a new turn")


def test_seed_000_has_no_title(seeds: dict[str, Article]) -> None:
    assert seeds["000"].title is None
    assert seeds["000"].text.startswith("A new movement has recently emerged in Niger")


def test_seed_003_has_no_date_and_none_is_guessed(seeds: dict[str, Article]) -> None:
    # 003 mentions "Sunday", "Friday", "2021" in its body: none of them may become its date.
    assert seeds["003"].date is None
    assert seeds["003"].title is None
    assert seeds["003"].text.startswith("Niger’s junta authorities have requested assistance")


@pytest.mark.parametrize(
    ("paragraph", "dropped"),
    [
        ("Photo gallery", True),
        ("download jpg", True),
        ("Watch", True),
        ("Updated 2023", False),  # a digit: could be a date line
        ("He resigned.", False),  # a sentence
        ("Three words here", False),
    ],
)
def test_page_fragments_are_not_article_text(paragraph: str, dropped: bool) -> None:
    text = clean_text(f"{paragraph}\n\nThe council met on Monday and approved the budget.")
    assert (paragraph not in text) == dropped


def test_003_top_line_just_know_is_a_fragment(seeds: dict[str, Article]) -> None:
    raw = (SEEDS / "003_dc7ce24594d87c5a.txt").read_text(encoding="utf-8")
    assert raw.startswith("Just know\n")  # the seed has it at the top ...
    assert "just know" not in seeds["003"].text.lower()  # ... the clean text does not


@pytest.mark.parametrize(
    "line",
    [
        "Leave a Reply",
        "Your email address will not be published",
        "Required fields are marked",
        "Back to top button",
        "Adblock Detected",
        "download jpg",
        "Kindly close your AdBlock",
        "error: Alert: Content selection is disabled",
    ],
)
def test_boilerplate_lines_of_003_are_gone(seeds: dict[str, Article], line: str) -> None:
    raw = (SEEDS / "003_dc7ce24594d87c5a.txt").read_text(encoding="utf-8")
    assert line.lower() in raw.lower()  # the seed has it ...
    assert line.lower() not in seeds["003"].text.lower()  # ... the clean text does not


def test_003_ends_with_its_last_real_paragraph(seeds: dict[str, Article]) -> None:
    assert seeds["003"].text.endswith("Association to Defend Human Rights, stated.")


def test_repeated_paragraph_of_003_is_kept_once_the_first_version(
    seeds: dict[str, Article],
) -> None:
    text = seeds["003"].text
    assert text.count("According to an analyst, Niger’s new military junta") == 1
    assert "or risk probable military intervention" in text
    assert "or face probable military intervention" not in text
    # the short lead sentence that resembles it is a different paragraph and stays
    assert "Niger’s junta authorities have requested assistance" in text


def test_clean_text_has_single_blank_lines_between_paragraphs(seeds: dict[str, Article]) -> None:
    for article in seeds.values():
        assert "\n\n\n" not in article.text
        assert "  " not in article.text


def test_exact_repeat_inside_a_file_is_collapsed() -> None:
    para = "The junta closed the border with Benin on Monday, officials in Niamey said."
    raw = f" date 2023-11-10 {para}\n\nA second paragraph about sanctions.\n\n{para}\n"
    article = read_bytes("repeat.txt", raw.encode()).articles[0]
    assert article.text == f"{para}\n\nA second paragraph about sanctions."


def test_markdown_heading_becomes_the_title() -> None:
    result = read_bytes("note.md", b"# Junta closes airspace\n\nNiger closed its *airspace*.\n")
    assert [p.message for p in result.problems] == ["no date found: shown as date unknown"]
    (article,) = result.articles
    assert article.title == "Junta closes airspace"
    assert article.text == "Niger closed its *airspace*."
    assert article.date is None


def test_markdown_with_seed_header() -> None:
    (article,) = read_bytes("dated.md", b" date 2023-11-10 Title: Dated note\n\nBody.\n").articles
    assert (article.date, article.title, article.text) == (
        date(2023, 11, 10),
        "Dated note",
        "Body.",
    )


HTML = b"""<!doctype html>
<html><head><title>Junta closes airspace</title>
<meta property="article:published_time" content="2023-11-12T08:00:00Z">
<script>var tracker = "SCRIPTTEXT"; if (a < b) { run(); }</script>
<style>p { color: red }</style></head>
<body><nav>Home | World | SPORTSMENU</nav>
<article><p>Niger&rsquo;s junta <b>closed</b> the airspace on Sunday.</p>
<p>Leave a Reply</p>
<p>The junta cited the threat of an <a href="/x">intervention</a>.</p></article>
<footer>FOOTERTEXT</footer></body></html>"""


def test_html_tags_scripts_and_navigation_are_stripped() -> None:
    result = read_bytes("page.html", HTML)
    assert result.problems == []
    (article,) = result.articles
    assert article.title == "Junta closes airspace"
    assert article.date == date(2023, 11, 12)
    assert article.text == (
        "Niger’s junta closed the airspace on Sunday.\n\n"
        "The junta cited the threat of an intervention."
    )
    for gone in ("SCRIPTTEXT", "color", "SPORTSMENU", "FOOTERTEXT", "<", "Leave a Reply"):
        assert gone not in article.text


JSONL = (
    b'{"id": "r1", "title": "First", "date": "2023-11-10", "text": "Record one text."}\n'
    b'{"text": "Record without id.", "date": "2023/11/12"}\n'
    b"\n"
    b'{"source": "wire-9", "text": "Record with a source field.", "date": "not a date"}\n'
    b'{"id": "empty", "text": ""}\n'
)


def test_jsonl_dump_gives_one_article_per_record_named_file_hash_id() -> None:
    result = read_bytes("dump.jsonl", JSONL)
    by_source = {a.source: a for a in result.articles}
    assert list(by_source) == ["dump.jsonl#r1", "dump.jsonl#2", "dump.jsonl#wire-9"]
    assert by_source["dump.jsonl#r1"].title == "First"
    assert by_source["dump.jsonl#r1"].date == date(2023, 11, 10)
    assert by_source["dump.jsonl#2"].date == date(2023, 11, 12)
    assert by_source["dump.jsonl#2"].text == "Record without id."
    assert by_source["dump.jsonl#wire-9"].date is None  # unparseable: unknown, never guessed
    assert [(p.source, p.skipped) for p in result.problems] == [("dump.jsonl#empty", True)]


CSV = (
    b"id,title,date,text\n"
    b'a1,Csv title,2023-11-09,"A record, with a comma."\n'
    b',,2023-11-08,"A record without id,\n'
    b'spanning two lines."\n'
    b",,,No date here.\n"
)


def test_csv_dump_names_records_by_id_else_by_line_number() -> None:
    result = read_bytes("dump.csv", CSV)
    assert result.problems == []
    by_source = {a.source: a for a in result.articles}
    assert list(by_source) == ["dump.csv#a1", "dump.csv#3", "dump.csv#5"]
    first = by_source["dump.csv#a1"]
    assert (first.title, first.date, first.text) == (
        "Csv title",
        date(2023, 11, 9),
        "A record, with a comma.",
    )
    assert by_source["dump.csv#3"].date == date(2023, 11, 8)
    assert by_source["dump.csv#3"].text == "A record without id, spanning two lines."
    assert by_source["dump.csv#5"].date is None
    assert by_source["dump.csv#5"].title is None


def test_non_utf8_is_decoded_with_replacement_and_a_warning() -> None:
    raw = " date 2023-11-10 Le café de Niamey est ouvert.".encode("latin-1")
    result = read_bytes("latin.txt", raw)
    (article,) = result.articles
    assert article.date == date(2023, 11, 10)
    assert article.text == "Le caf\ufffd de Niamey est ouvert."
    (problem,) = result.problems
    assert problem.source == "latin.txt"
    assert "UTF-8" in problem.message
    assert problem.skipped is False


@pytest.mark.parametrize(
    ("name", "data", "word"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \t\n", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        ("only-boilerplate.txt", b"Leave a Reply\n\nAdblock Detected\n", "no text"),
        ("notes.pdf", b"%PDF-1.4 some text", "unsupported"),
    ],
)
def test_bad_file_is_skipped_with_a_problem_naming_it(name: str, data: bytes, word: str) -> None:
    result = read_bytes(name, data)
    assert result.articles == []
    (problem,) = result.problems
    assert problem.source == name
    assert problem.skipped is True
    assert word.lower() in problem.message.lower()


def test_bad_files_do_not_stop_the_batch(tmp_path: Path) -> None:
    (tmp_path / "a_empty.txt").write_bytes(b"")
    (tmp_path / "b_binary.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (tmp_path / "c_latin.txt").write_bytes("Caf\xe9 au lait.".encode("latin-1"))
    (tmp_path / "d_good.txt").write_text(" date 2023-11-10 Good article.", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e_good.md").write_text("# Heading\n\nNested article.", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("Hidden article.", encoding="utf-8")
    (tmp_path / "ignored.bin").write_bytes(b"\x00")

    files = corpus_files(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "a_empty.txt",
        "b_binary.txt",
        "c_latin.txt",
        "d_good.txt",
        "sub/e_good.md",
    ]
    result: ReadResult = read_paths(files, tmp_path)
    assert [a.source for a in result.articles] == ["c_latin.txt", "d_good.txt", "sub/e_good.md"]
    problems = {p.source: p.skipped for p in result.problems}
    assert problems == {
        "a_empty.txt": True,
        "b_binary.txt": True,
        "c_latin.txt": False,  # not UTF-8, and no date
        "sub/e_good.md": False,  # no date
    }


def test_content_hash_ignores_case_and_whitespace_but_not_words() -> None:
    a = Article("a.txt", "Niger closed its airspace.", None)
    b = Article("b.txt", "niger  closed\nits airspace.", date(2023, 1, 1))
    c = Article("c.txt", "Niger opened its airspace.", None)
    assert a.content_hash == b.content_hash
    assert a.content_hash != c.content_hash


# -- dumps keep where each record was published -------------------------------------------------

RTQA = (  # RealTime QA's articles.jsonl, newspaper3k's spelling
    '{"article_id": "b8a0709c6d48878f", "url": "https://www.usatoday.com/story/afro/", '
    '"title": "Guinness finds Napoleonville native", "publish_date": "2011/10/24", '
    '"authors": ["Thad Angelloz", "Staff"], "text": "Aevin Dugas has the largest Afro."}\n'
    # news-please's spelling
    '{"id": "np1", "maintext": "The harbour reopened.", "date_publish": "2023-12-05 08:00:00", '
    '"url": "http://example.org/harbour", "title": "Harbour", "authors": []}\n'
    # an address that is not a web page is never linked to
    '{"id": "bad", "text": "A record.", "link": "javascript:alert(1)", "author": " "}\n'
)
CSV_COMMON = (  # a spreadsheet export: capitalised headers with spaces
    b"ID,Headline,Published At,URL,Byline,Content\n"
    b"c1,River rises,2024-03-02,https://news.example.net/river,Ana Ruiz,The river rose 2 m.\n"
)


def test_dump_records_keep_url_author_title_and_date_in_their_common_spellings() -> None:
    jsonl = {a.source: a for a in read_bytes("rtqa.jsonl", RTQA.encode()).articles}
    afro = jsonl["rtqa.jsonl#b8a0709c6d48878f"]
    assert afro.url == "https://www.usatoday.com/story/afro/"
    assert afro.author == "Thad Angelloz, Staff"
    assert (afro.title, afro.date) == ("Guinness finds Napoleonville native", date(2011, 10, 24))
    harbour = jsonl["rtqa.jsonl#np1"]
    assert (harbour.text, harbour.date) == ("The harbour reopened.", date(2023, 12, 5))
    assert (harbour.url, harbour.author) == ("http://example.org/harbour", None)
    assert (jsonl["rtqa.jsonl#bad"].url, jsonl["rtqa.jsonl#bad"].author) == (None, None)
    (river,) = read_bytes("export.csv", CSV_COMMON).articles
    assert river.source == "export.csv#2"  # the id is still read from `id` alone, as before
    assert (river.title, river.date) == ("River rises", date(2024, 3, 2))
    assert (river.url, river.author) == ("https://news.example.net/river", "Ana Ruiz")
    assert river.text == "The river rose 2 m."
