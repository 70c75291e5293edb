"""qa/ingest/fetch.py and qa/netguard.py: outbound fetching reaches public addresses only (SSRF), in
every spelling of an address and at every redirect hop, unless QA_FETCH_ALLOW allows it; against
real HTTP servers on loopback (127.0.0.2 stands for a public site where a test needs one)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError

from qa.config import Settings
from qa.errors import FeedError, FetchRefused
from qa.ingest.feeds import poll
from qa.ingest.fetch import Fetcher
from qa.netguard import AddressPolicy, refusal
from tests.conftest import make_settings


@dataclass
class Server:
    """A loopback HTTP server: path -> (status, body, extra headers); every path requested."""

    host: str
    port: int = 0
    pages: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    server: _HTTP

    def do_GET(self) -> None:
        site = self.server.site
        site.hits.append(self.path)
        status, body, headers = site.pages.get(self.path, (200, b"internal secret", {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _HTTP(ThreadingHTTPServer):
    site: Server


class _HTTP6(_HTTP):
    address_family = __import__("socket").AF_INET6


@pytest.fixture
def servers() -> Iterator[dict[str, Server]]:
    """ "internal" on 127.0.0.1 (the secret), "public" on 127.0.0.2, "internal6" on ::1."""
    running = []
    sites = {}
    for name, host, kind in [
        ("internal", "127.0.0.1", _HTTP),
        ("public", "127.0.0.2", _HTTP),
        ("internal6", "::1", _HTTP6),
    ]:
        try:
            http = kind((host, 0), _Handler)
        except OSError:  # no IPv6 loopback here
            continue
        site = Server(host, http.server_address[1])
        http.site = site
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        running.append((http, thread))
        sites[name] = site
    try:
        yield sites
    finally:
        for http, thread in running:
            http.shutdown()
            http.server_close()
            thread.join(timeout=10)


def _settings(tmp_path: Path, **values: object) -> Settings:
    (tmp_path / "empty").mkdir(exist_ok=True)
    defaults: dict[str, object] = {"feed_host_delay_s": 0.0, "feed_timeout_s": 5.0}
    return make_settings(tmp_path, tmp_path / "empty", **(defaults | values))


async def _get(settings: Settings, url: str) -> bytes:
    async with Fetcher(settings) as fetcher:
        return (await fetcher.get(url)).body


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "100.64.0.1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
        "255.255.255.255",
        "fe80::1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_fetched(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_every_spelling_of_loopback_is_refused_and_never_reaches_the_server(
    tmp_path: Path, servers: dict[str, Server]
) -> None:
    internal = servers["internal"]
    port = internal.port
    spellings = [
        f"http://127.0.0.1:{port}/latest/meta-data/iam/security-credentials/role",
        f"http://localhost:{port}/admin/secret",
        f"http://2130706433:{port}/decimal",
        f"http://0x7f.1:{port}/hex",
        f"http://127.1:{port}/short",
        f"http://[::ffff:127.0.0.1]:{port}/mapped",
        f"http://0177.0.0.1:{port}/octal",
    ]
    if "internal6" in servers:
        spellings.append(f"http://[::1]:{servers['internal6'].port}/v6")
    settings = _settings(tmp_path)
    for url in spellings:
        with pytest.raises(FeedError) as error:
            asyncio.run(_get(settings, url))
        assert isinstance(error.value, FetchRefused) or "not a valid URL" in str(error.value)
    assert internal.hits == [] and servers.get("internal6", internal).hits == []


def test_a_redirect_to_an_internal_address_is_refused_at_that_hop(
    tmp_path: Path, servers: dict[str, Server]
) -> None:
    public, internal = servers["public"], servers["internal"]
    secret = f"{internal.base}/latest/meta-data/iam/security-credentials/role"
    public.pages["/moved"] = (302, b"", {"Location": secret})
    public.pages["/relay"] = (301, b"", {"Location": "/moved"})
    settings = _settings(tmp_path, fetch_allow=["127.0.0.2"])
    with pytest.raises(FetchRefused, match="loopback"):
        asyncio.run(_get(settings, f"{public.base}/relay"))
    assert public.hits == ["/relay", "/moved"] and internal.hits == []
    public.pages["/fine"] = (302, b"", {"Location": "/page"})
    public.pages["/page"] = (200, b"public page", {})
    assert asyncio.run(_get(settings, f"{public.base}/fine")) == b"public page"


def test_the_allow_list_lets_an_intranet_feed_through(
    tmp_path: Path, servers: dict[str, Server]
) -> None:
    internal = servers["internal"]
    url = f"{internal.base}/intranet"
    assert asyncio.run(_get(_settings(tmp_path, fetch_allow=["127.0.0.0/8"]), url))
    by_name = _settings(tmp_path, fetch_allow=["LocalHost"])
    assert asyncio.run(_get(by_name, f"http://localhost:{internal.port}/by-name"))
    with pytest.raises(FetchRefused):  # the name is allowed, not every loopback spelling
        asyncio.run(_get(by_name, url))
    assert internal.hits == ["/intranet", "/by-name"]


def test_a_bad_allow_list_entry_fails_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="QA_FETCH_ALLOW entry 'http://x/'"):
        _settings(tmp_path, fetch_allow=["http://x/"])
    policy = AddressPolicy.parse(["Intranet.Example.", "10.1.2.0/24", "[fd00::1]"])
    assert policy.hosts == {"intranet.example"} and len(policy.networks) == 2


def test_a_feed_linking_to_internal_addresses_writes_nothing_and_reports_them(
    tmp_path: Path, servers: dict[str, Server], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 27, item 1: entry links and a redirect into the internal server; nothing of it is
    fetched, the URLs are listed as refused and logged at WARNING."""
    public, internal = servers["public"], servers["internal"]
    port = internal.port
    links = [
        f"http://127.0.0.1:{port}/latest/meta-data/iam/security-credentials/role",
        f"http://localhost:{port}/admin/secret",
        f"http://2130706433:{port}/decimal",
        f"{public.base}/redirect",
    ]
    public.pages["/redirect"] = (302, b"", {"Location": f"http://127.0.0.1:{port}/metrics"})
    items = "".join(
        f"<item><title>t{n}</title><link>{link}</link><guid>{link}</guid></item>"
        for n, link in enumerate(links)
    )
    feed = f'<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'
    public.pages["/feed.xml"] = (200, feed.encode(), {})
    bounce = f"{public.base}/bounce.xml"
    public.pages["/bounce.xml"] = (302, b"", {"Location": f"http://localhost:{port}/feed"})
    feeds = [f"{public.base}/feed.xml", bounce]
    settings = _settings(tmp_path, feeds=feeds, fetch_allow=["127.0.0.2"])
    with caplog.at_level(logging.WARNING, logger="qa.ingest.feeds"):
        report = asyncio.run(poll(settings))
    assert report.written == [] and internal.hits == []
    status = report.feeds[f"{public.base}/feed.xml"]
    assert not status.ok and sorted(status.refused) == sorted(links)
    assert report.feeds[bounce].refused == [bounce] and "refused" in (
        report.feeds[bounce].error or ""
    )
    refused = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.message]
    assert len(refused) >= len(links) + 1
    assert not any(tmp_path.rglob("*.txt"))


def test_a_loopback_feed_is_refused_without_the_allow_list(
    tmp_path: Path, servers: dict[str, Server]
) -> None:
    internal = servers["internal"]
    url = f"{internal.base}/feed.xml"
    report = asyncio.run(poll(_settings(tmp_path, feeds=[url])))
    assert report.feeds[url].refused == [url] and not report.feeds[url].ok
    assert internal.hits == []
