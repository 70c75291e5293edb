"""qa/ingest/feeds/ and qa/ingest/fetch.py against a real HTTP server on loopback: a feed with
ETags and the pages it links to; entries indexed once, new ones picked up, broken ones reported."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from qa.config import Settings
from qa.ingest.feeds import (
    MAX_TRIES,
    STATE_FILE,
    FeedState,
    entry_path,
    parse_feed,
    poll,
    read_feed_file,
)
from qa.ingest.index import Index
from qa.ingest.index_check import verify_index
from qa.search.retrieval import passage_from_stored
from tests.conftest import ROOT, HashEmbedder, free_port, make_settings

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
FEEDS = Path(__file__).resolve().parent / "fixtures" / "feeds"


@dataclass
class Site:
    """What the loopback server serves (path -> status, body) and every request it saw."""

    pages: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    log: list[tuple[str, int]] = field(default_factory=list)  # (path, status answered)
    drip: set[str] = field(default_factory=set)  # paths sent a byte at a time, slowly
    types: dict[str, str] = field(default_factory=dict)  # path -> Content-Type
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, since: int = 0) -> list[tuple[str, int]]:
        with self.lock:
            return self.log[since:]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with site.lock:
                status, body = site.pages.get(self.path, (404, b"not found"))
            etag = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
            if status == 200 and self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
            with site.lock:
                site.log.append((self.path, status))
            self.send_response(status)
            if status in (200, 304):
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            if self.path in site.types:
                self.send_header("Content-Type", site.types[self.path])
            self.end_headers()
            if self.path in site.drip:
                for byte in body[:40]:
                    time.sleep(0.1)
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                return
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    """A ThreadingHTTPServer on 127.0.0.1, port 0, in a thread; yields (site, base URL)."""
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


ITEMS = [  # (page path, fixture page, title in the feed, published)
    ("/news/harbour-bridge.html", "harbour-bridge.html", "Harbour bridge opens", "2024-03-14"),
    ("/news/orchard-frost", "orchard-frost.html", "Frost hits apricots", "2024-04-09"),
    ("/news/library-vote?id=7", "library-vote.html", "Library stays open", "2024-05-02"),
]


def rss(base: str, items: list[tuple[str, str, str, str]]) -> bytes:
    parts = []
    for path, _, title, day in items:
        when = format_datetime(datetime.fromisoformat(f"{day}T09:30:00").replace(tzinfo=UTC))
        parts.append(
            f"<item><title>{escape(title)}</title><link>{escape(base + path)}</link>"
            f"<guid>{escape(base + path)}</guid><pubDate>{when}</pubDate>"
            "<description>Short summary.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Loopback news</title><link>{base}/</link>{''.join(parts)}</channel></rss>"
    ).encode()


def serve_feed(site: Site, base: str, items: list[tuple[str, str, str, str]]) -> None:
    with site.lock:
        site.pages["/feed.xml"] = (200, rss(base, items))
        for path, page, _, _ in items:
            site.pages.setdefault(path, (200, (PAGES / page).read_bytes()))


def settings_for(tmp_path: Path, base: str, **extra: object) -> Settings:
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    values: dict[str, object] = {
        "feeds": [f"{base}/feed.xml"],
        "feed_host_delay_s": 0.0,
        "fetch_allow": ["127.0.0.1"],  # the loopback server stands for a public site
    }
    return make_settings(tmp_path, empty, **(values | extra))


def test_three_entries_are_followed_indexed_and_not_fetched_again(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    server, base = site
    serve_feed(server, base, ITEMS)
    settings = settings_for(tmp_path, base)
    report = asyncio.run(poll(settings))
    assert len(report.written) == 3 and report.problems == []
    status = report.feeds[f"{base}/feed.xml"]
    assert (status.ok, status.new, status.error) == (True, 3, None)
    # written into the index folder's feeds/, never into the (tracked) corpus folder
    assert all(p.is_relative_to(settings.index_dir / "feeds") for p in report.written)
    assert not (settings.corpus_dir / "feeds").exists()
    index = Index(settings, HashEmbedder())
    ingest = index.ingest()
    assert len(ingest.added) == 3 and ingest.problems == []
    rows = {r.url: r for r in index.catalog.rows().values()}
    assert set(rows) == {base + path for path, *_ in ITEMS}
    bridge = rows[f"{base}/news/harbour-bridge.html"]
    assert (bridge.title, bridge.date) == ("Harbour bridge opens", date(2024, 3, 14))
    assert bridge.author == "Ilse Marwood"  # the feed names none: the page's
    assert bridge.source.startswith("feeds/127.0.0.1/harbour-bridge-")
    text = index.catalog.text(bridge.source) or ""
    assert "lifting bridge over the inner harbour" in text
    assert "cookie" not in text.lower() and "Finally!" not in text
    hits = index.store.get(where={"source": bridge.source})
    assert hits and all(h.meta.url == f"{base}/news/harbour-bridge.html" for h in hits)
    passage = passage_from_stored(hits[0], 1.0, None, None)
    assert passage.url == f"{base}/news/harbour-bridge.html"
    assert verify_index(index) == []  # catalog, chunks and files agree, URLs included

    seen = len(server.requests())
    again = asyncio.run(poll(settings))
    assert again.written == [] and again.problems == []
    assert server.requests(seen) == [("/feed.xml", 304)]  # by ETag: no page fetched
    assert again.feeds[f"{base}/feed.xml"].not_modified
    assert index.ingest().changed is False


def test_a_new_entry_appears_after_the_next_poll(tmp_path: Path, site: tuple[Site, str]) -> None:
    server, base = site
    serve_feed(server, base, ITEMS[:2])
    settings = settings_for(tmp_path, base)
    assert len(asyncio.run(poll(settings)).written) == 2
    serve_feed(server, base, ITEMS)
    seen = len(server.requests())
    report = asyncio.run(poll(settings))
    assert [p.name.split("-")[0] for p in report.written] == ["library"]
    assert server.requests(seen) == [("/feed.xml", 200), ("/news/library-vote?id=7", 200)]
    index = Index(settings, HashEmbedder())
    index.ingest()
    assert index.catalog.count() == 3


def test_a_broken_entry_is_reported_the_rest_indexed_and_it_is_retried(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    server, base = site
    server.pages["/news/orchard-frost"] = (500, b"server error")
    server.pages["/news/library-vote?id=7"] = (200, b"<html><body></body></html>")
    serve_feed(server, base, ITEMS)
    settings = settings_for(tmp_path, base)
    report = asyncio.run(poll(settings))
    assert len(report.written) == 1
    problems = {p.source: p.message for p in report.problems}
    assert "HTTP 500" in problems[f"{base}/news/orchard-frost"]
    assert "no article text" in problems[f"{base}/news/library-vote?id=7"]
    status = report.feeds[f"{base}/feed.xml"]
    assert (status.ok, status.error) == (False, "2 of 3 entries failed")
    index = Index(settings, HashEmbedder())
    assert len(index.ingest().added) == 1

    server.pages["/news/orchard-frost"] = (200, (PAGES / "orchard-frost.html").read_bytes())
    seen = len(server.requests())
    retry = asyncio.run(poll(settings))  # the feed is unchanged (304); pending entries retried
    assert len(retry.written) == 1 and len(retry.problems) == 1
    assert ("/feed.xml", 304) in server.requests(seen)
    state = FeedState(settings.index_dir / STATE_FILE).feed(f"{base}/feed.xml")
    assert [p["link"] for p in state["pending"]] == [f"{base}/news/library-vote?id=7"]
    assert len(index.ingest().added) == 1


def test_an_entry_that_keeps_failing_is_given_up(tmp_path: Path, site: tuple[Site, str]) -> None:
    server, base = site
    server.pages["/news/orchard-frost"] = (500, b"server error")
    serve_feed(server, base, ITEMS[1:2])
    settings = settings_for(tmp_path, base)
    reports = [asyncio.run(poll(settings)) for _ in range(MAX_TRIES)]
    assert all(r.written == [] for r in reports)
    assert "given up after" in reports[-1].problems[-1].message
    seen = len(server.requests())
    last = asyncio.run(poll(settings))
    assert server.requests(seen) == [("/feed.xml", 304)] and last.problems == []
    assert last.feeds[f"{base}/feed.xml"].ok


def test_a_failing_feed_never_stops_the_others(tmp_path: Path, site: tuple[Site, str]) -> None:
    server, base = site
    serve_feed(server, base, ITEMS[:1])
    server.pages["/broken.xml"] = (200, b"<html><body>not a feed</body></html>")
    closed = f"http://127.0.0.1:{free_port()}/feed.xml"
    feeds = [f"{base}/missing.xml", f"{base}/broken.xml", closed, f"{base}/feed.xml"]
    settings = settings_for(tmp_path, base, feeds=feeds, feed_timeout_s=5.0)
    report = asyncio.run(poll(settings))
    assert len(report.written) == 1
    assert report.feeds[f"{base}/feed.xml"].ok
    assert "HTTP 404" in (report.feeds[f"{base}/missing.xml"].error or "")
    assert "not an RSS or Atom feed" in (report.feeds[f"{base}/broken.xml"].error or "")
    assert "cannot be fetched" in (report.feeds[closed].error or "")
    assert {p.source for p in report.problems} == set(feeds[:3])


def test_pages_over_the_size_cap_are_refused(tmp_path: Path, site: tuple[Site, str]) -> None:
    server, base = site
    server.pages["/news/harbour-bridge.html"] = (200, b"<p>" + b"word " * 2000 + b"</p>")
    serve_feed(server, base, ITEMS[:1])
    report = asyncio.run(poll(settings_for(tmp_path, base, feed_max_bytes=4096)))
    assert report.written == []
    assert "QA_FEED_MAX_BYTES" in report.problems[0].message


def test_a_page_that_drips_is_cut_by_the_request_deadline(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    server, base = site
    serve_feed(server, base, ITEMS[:1])
    server.drip.add("/news/harbour-bridge.html")  # each read is quick, the whole is 4 s
    started = time.monotonic()
    report = asyncio.run(poll(settings_for(tmp_path, base, feed_timeout_s=0.4)))
    assert time.monotonic() - started < 3.5
    assert report.written == [] and "timed out" in report.problems[0].message


def test_a_page_is_decoded_by_its_declared_charset(tmp_path: Path, site: tuple[Site, str]) -> None:
    server, base = site
    page = "<html><body><article><p>The Café Zürich reopened on the quay on Monday.</p>"
    server.pages["/news/harbour-bridge.html"] = (
        200,
        f"{page}</article></body></html>".encode("latin-1"),
    )
    server.types["/news/harbour-bridge.html"] = "text/html; charset=ISO-8859-1"
    serve_feed(server, base, ITEMS[:1])
    (path,) = asyncio.run(poll(settings_for(tmp_path, base))).written
    assert "The Café Zürich reopened" in path.read_text(encoding="utf-8")


def test_nothing_is_fetched_without_feeds(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, tmp_path)
    report = asyncio.run(poll(settings))
    assert (report.written, report.feeds, report.problems) == ([], {}, [])
    assert not (settings.index_dir / STATE_FILE).exists()


@pytest.mark.parametrize(
    ("link", "name"),
    [
        ("https://News.Example/2024/03/bridge-opens.html", "news.example/bridge-opens-"),
        ("https://news.example/a/../../etc/passwd", "news.example/passwd-"),
        ("https://news.example/?p=123", "news.example/entry-"),
        ("urn:uuid:1234", "local/uuid-1234-"),
    ],
)
def test_entry_files_are_safe_and_deterministic(tmp_path: Path, link: str, name: str) -> None:
    folder = tmp_path / "feeds"
    path = entry_path(folder, link)
    assert path == entry_path(folder, link)
    assert path.relative_to(folder).as_posix().startswith(name)
    assert path.resolve().is_relative_to(folder.resolve())
    assert entry_path(folder, link + "x") != path


def test_a_saved_feed_file_uses_content_else_page_else_summary(tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    settings = make_settings(tmp_path, tmp_path / "none", feed_timeout_s=5.0)
    raw = (FEEDS / "saved.xml").read_text().replace("PORT", str(free_port()))
    feed = tmp_path / "saved.xml"
    feed.write_text(raw)
    report = asyncio.run(read_feed_file(settings, feed))
    assert len(report.written) == 2 and report.problems == []
    index = Index(settings, HashEmbedder())
    index.ingest()
    rows = {r.title: r for r in index.catalog.rows().values()}
    assert set(rows) == {"Dam inspection finds cracks", "Night trains return"}
    dam = rows["Dam inspection finds cracks"]
    assert dam.date == date(2024, 6, 3) and dam.url == "https://example.org/news/dam-cracks"
    assert "Engineers found three cracks" in (index.catalog.text(dam.source) or "")
    assert "newsletter" not in (index.catalog.text(dam.source) or "")
    trains = rows["Night trains return"]  # its page cannot be fetched (closed port): summary
    assert trains.date == date(2024, 6, 4)
    assert index.catalog.text(trains.source) == "Night trains return to the coast line in July."


def test_parse_feed_reads_atom_dates_as_written() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id>
<entry><title>Late story</title><id>urn:e1</id><link href="/late"/>
<published>2024-03-14T23:30:00-05:00</published><updated>2024-03-15T10:00:00Z</updated>
</entry><entry><title>Undated</title><id>urn:e2</id><link href="https://x.example/u"/></entry>
</feed>"""
    late, undated = parse_feed(atom, "https://x.example/feed")
    assert (late.key, late.link, late.day) == (
        "urn:e1",
        "https://x.example/late",
        date(2024, 3, 14),
    )
    assert undated.day is None


def test_the_service_polls_indexes_and_reports_feeds_in_readyz(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    from fastapi.testclient import TestClient

    from qa.answer.engine import Engine
    from qa.api import create_app

    server, base = site
    serve_feed(server, base, ITEMS)
    server.pages["/news/orchard-frost"] = (500, b"server error")
    broken = f"{base}/gone.xml"
    settings = settings_for(tmp_path, base, feed_seconds=1, feeds=[f"{base}/feed.xml", broken])
    embedder = HashEmbedder()
    engine = Engine(settings, Index(settings, embedder), embedder)
    with TestClient(create_app(settings, engine)) as client:
        deadline = time.monotonic() + 30
        while engine.index.catalog.count() < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        ready = client.get("/readyz")
        assert ready.status_code == 200  # a failing feed is reported, not a failed service
        feeds = ready.json()["feeds"]
        assert feeds[broken]["ok"] is False and "HTTP 404" in feeds[broken]["error"]
        assert feeds[f"{base}/feed.xml"]["error"] == "1 of 3 entries failed"
        assert feeds[f"{base}/feed.xml"]["last_polled"]
        documents = client.get("/documents").json()["documents"]
        assert {d["url"] for d in documents} == {
            f"{base}/news/harbour-bridge.html",
            f"{base}/news/library-vote?id=7",
        }
        server.pages["/news/orchard-frost"] = (200, (PAGES / "orchard-frost.html").read_bytes())
        while engine.index.catalog.count() < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert engine.index.catalog.count() == 3  # retried at a later poll, then indexed


@pytest.mark.slow  # the reader's first answer loads spaCy (about 8 s)
def test_a_cited_feed_article_carries_its_link(tmp_path: Path, site: tuple[Site, str]) -> None:
    from fastapi.testclient import TestClient

    from qa.answer.engine import Engine
    from qa.api import create_app

    server, base = site
    serve_feed(server, base, ITEMS)
    settings = settings_for(tmp_path, base)
    asyncio.run(poll(settings))
    embedder = HashEmbedder()
    engine = Engine(settings, Index(settings, embedder), embedder)
    engine.index.ingest()
    with TestClient(create_app(settings, engine)) as client:
        question = "How much did the new harbour bridge in Port Vessa cost?"
        answer = client.post("/ask", json={"question": question}).json()
    assert not answer["refused"]
    assert {c["url"] for c in answer["citations"]} == {f"{base}/news/harbour-bridge.html"}
    assert {c["date"] for c in answer["citations"]} == {"2024-03-14"}


def _qa(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QA_") or k == "QA_MODEL_DIR"}
    clean |= {"QA_CORPUS_DIR": str(tmp_path / "corpus"), "QA_INDEX_DIR": str(tmp_path / "idx")}
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "qa"), *args],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow  # real processes with the real model
def test_qa_ingest_feeds_and_a_saved_feed_file(tmp_path: Path, site: tuple[Site, str]) -> None:
    server, base = site
    serve_feed(server, base, ITEMS)
    server.pages["/news/orchard-frost"] = (500, b"server error")
    missing = _qa(["ingest", "--feeds"], tmp_path)
    assert missing.returncode == 2 and "QA_FEEDS" in missing.stderr
    feeds = json.dumps([f"{base}/feed.xml"])
    env = {"QA_FEEDS": feeds, "QA_FEED_HOST_DELAY_S": "0", "QA_FETCH_ALLOW": '["127.0.0.1"]'}
    first = _qa(["ingest", "--feeds", "--json"], tmp_path, **env)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout[first.stdout.index("{") :])
    assert summary["added"] == 2 and summary["feed_entries_written"] == 2
    status = summary["feeds"][f"{base}/feed.xml"]
    assert (status["ok"], status["error"]) == (False, "1 of 3 entries failed")
    assert [p["source"] for p in summary["problems"]] == [f"{base}/news/orchard-frost"]

    saved = tmp_path / "saved.xml"
    saved.write_text((FEEDS / "saved.xml").read_text().replace("PORT", str(free_port())))
    second = _qa(["ingest", str(saved)], tmp_path, **env)
    assert second.returncode == 0, second.stderr
    assert "added 2," in second.stdout  # the saved feed's two entries; nothing polled
    assert ("/feed.xml", 304) not in server.requests()


def big_feed(base: str, n: int) -> bytes:
    """An RSS feed of `n` entries with links into `base` (a 10,000-entry one is 2.3 MB)."""
    items = "".join(
        f"<item><title>Entry {i}</title><link>{base}/e/{i}</link><guid>{base}/e/{i}</guid>"
        "<pubDate>Mon, 04 Mar 2024 09:30:00 GMT</pubDate>"
        f"<description>Summary {i} of a story, with a few words as feeds have.</description>"
        "</item>"
        for i in range(n)
    )
    return f'<rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()


@pytest.mark.slow  # parses a 10,000-entry feed (a few seconds)
def test_healthz_answers_while_a_large_feed_is_parsed(
    tmp_path: Path, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 27, item 2: parsing ran on the event loop and /healthz waited for it."""
    from fastapi.testclient import TestClient

    from qa.answer.engine import Engine
    from qa.api import create_app
    from qa.ingest import feeds
    from qa.ingest.feeds import polling

    server, base = site
    server.pages["/feed.xml"] = (200, big_feed(base, 10_000))
    started, parsed = threading.Event(), threading.Event()
    real = feeds.read_feed

    def read_feed(data: bytes, url: str = "") -> tuple[list[feeds.Entry], str | None]:
        started.set()
        try:
            return real(data, url)
        finally:
            parsed.set()

    monkeypatch.setattr(polling, "read_feed", read_feed)  # where poll() looks it up
    settings = settings_for(tmp_path, base, feed_seconds=3600)
    embedder = HashEmbedder()
    engine = Engine(settings, Index(settings, embedder), embedder)
    with TestClient(create_app(settings, engine)) as client:
        assert started.wait(timeout=120)
        health = client.get("/healthz")
        assert health.status_code == 200
        assert not parsed.is_set()  # answered while the feed was still being parsed
        assert parsed.wait(timeout=120)


def test_a_feed_that_takes_too_long_to_parse_fails_alone(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    server, base = site
    serve_feed(server, base, ITEMS[:1])
    server.pages["/big.xml"] = (200, big_feed(base, 10000))
    feeds = [f"{base}/big.xml", f"{base}/feed.xml"]
    report = asyncio.run(poll(settings_for(tmp_path, base, feeds=feeds, feed_parse_timeout_s=0.5)))
    big = report.feeds[f"{base}/big.xml"]
    assert not big.ok and "QA_FEED_PARSE_TIMEOUT_S" in (big.error or "")
    assert ("/news/harbour-bridge.html", 200) in server.requests()  # the small feed went on
    assert not any("/e/" in path for path, _ in server.requests())


BAD_DATES = ["0000-01-01T00:00:00Z", "-2023-05-05", "9999-12-31", "1850-06-01", "2024-02-30"]


def test_one_bad_date_makes_one_entry_undated_and_never_sinks_the_feed(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    """Issue 27, item 3: `year 0 is out of range` failed every poll of the whole feed."""
    server, base = site
    items = "".join(
        f"<item><title>Bad {n}</title><link>{base}/bad/{n}</link><guid>{base}/bad/{n}</guid>"
        f"<pubDate>{day}</pubDate><description>d</description></item>"
        for n, day in enumerate(BAD_DATES)
    )
    serve_feed(server, base, ITEMS)
    good = site[0].pages["/feed.xml"][1].decode()
    server.pages["/feed.xml"] = (200, good.replace("</channel>", items + "</channel>").encode())
    for n in range(len(BAD_DATES)):  # pages that state no date either
        text = f"Story {n}: the ferry timetable changes for the {n + 2} winter crossings."
        server.pages[f"/bad/{n}"] = (200, f"<html><body><p>{text}</p></body></html>".encode())
    entries = {e.title: e for e in parse_feed(server.pages["/feed.xml"][1], base)}
    assert all(entries[f"Bad {n}"].day is None for n in range(len(BAD_DATES)))
    assert entries["Harbour bridge opens"].day == date(2024, 3, 14)

    settings = settings_for(tmp_path, base)
    report = asyncio.run(poll(settings))
    status = report.feeds[f"{base}/feed.xml"]
    assert (status.ok, status.new) == (True, len(ITEMS) + len(BAD_DATES))
    notes = {p.source: p for p in report.problems}
    assert set(notes) == {f"{base}/bad/{n}" for n in range(len(BAD_DATES))}
    assert all("undated" in p.message and not p.skipped for p in notes.values())
    index = Index(settings, HashEmbedder())
    index.ingest()
    rows = {r.title: r for r in index.catalog.rows().values()}
    assert all(rows[f"Bad {n}"].date is None for n in range(len(BAD_DATES)))
    assert rows["Frost hits apricots"].date == date(2024, 4, 9)


def test_a_one_paragraph_entry_is_kept() -> None:
    """Issue 27, item 4: trafilatura found no article in an HTML fragment of one paragraph."""
    from qa.ingest.feeds import Entry, render

    sentence = (
        "The harbour council voted on Tuesday to keep the night ferry running through the "
        "winter, after fishermen, nurses and students who cross the bay before dawn asked it "
        "not to cut the only early service between the two towns."
    )
    entry = Entry(key="k", link="https://x.example/ferry", title="Ferry stays", day=None)
    assert sentence in render(entry, f"<p>{sentence}</p>")


def test_a_malformed_feed_is_not_ok_and_names_the_parsers_reason(
    tmp_path: Path, site: tuple[Site, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, base = site
    serve_feed(server, base, ITEMS[:1])
    whole = server.pages["/feed.xml"][1].decode()
    server.pages["/cut.xml"] = (200, whole[: whole.index("</item>") + 7].encode())
    server.pages["/empty.xml"] = (200, b'<rss version="2.0"><channel><title>x</ti')
    feeds = [f"{base}/cut.xml", f"{base}/empty.xml"]
    with caplog.at_level(logging.WARNING, logger="qa.ingest.feeds"):
        report = asyncio.run(poll(settings_for(tmp_path, base, feeds=feeds)))
    cut, empty = report.feeds[feeds[0]], report.feeds[feeds[1]]
    assert (cut.ok, cut.new) == (False, 1)  # its readable entry is still indexed
    assert (cut.error or "").startswith("malformed feed: ") and "no element found" in (
        cut.error or ""
    )
    assert not empty.ok and "unclosed token" in (empty.error or "")
    warned = " ".join(r.message for r in caplog.records if r.levelno == logging.WARNING)
    assert feeds[0] in warned and feeds[1] in warned


def test_feed_entries_go_to_qa_feeds_dir_and_are_indexed_and_deletable_from_there(
    tmp_path: Path, site: tuple[Site, str]
) -> None:
    """Issue 30, item 8: feeds wrote into the corpus folder (the tracked seeds/ by default)."""
    server, base = site
    serve_feed(server, base, ITEMS[:2])
    settings = settings_for(tmp_path, base, feeds_dir=tmp_path / "wire")
    report = asyncio.run(poll(settings))
    assert len(report.written) == 2
    assert all(p.is_relative_to(tmp_path / "wire") for p in report.written)
    index = Index(settings, HashEmbedder())
    assert len(index.ingest().added) == 2
    sources = sorted(index.catalog.rows())
    assert all(s.startswith("feeds/127.0.0.1/") for s in sources)
    assert verify_index(index) == []
    index.delete(sources[0])
    assert sorted(index.catalog.rows()) == sources[1:]
    assert len(list((tmp_path / "wire").rglob("*.txt"))) == 1
    assert index.ingest().changed is False and verify_index(index) == []
