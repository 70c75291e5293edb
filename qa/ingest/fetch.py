"""Polite HTTP GETs for feeds and their pages: one client, bounded concurrency, a pause between
requests to the same host, a timeout, a size cap enforced while streaming, conditional
requests (ETag / Last-Modified), and only to public addresses (qa/netguard.py), redirects
followed here, one checked hop at a time."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from qa.config import Settings
from qa.errors import FeedError
from qa.netguard import AddressPolicy, GuardedBackend

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 (not modified: no body)
    body: bytes
    etag: str | None
    last_modified: str | None
    charset: str | None = None  # of the Content-Type header

    def text(self) -> str:
        """The body decoded by its declared charset, else UTF-8, else Windows-1252."""
        for encoding in (self.charset, "utf-8-sig"):
            if encoding:
                try:
                    return self.body.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    pass
        return self.body.decode("cp1252", errors="replace")


class Fetcher:
    """`async with Fetcher(settings) as f: await f.get(url)`; every failure is a FeedError."""

    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.feed_max_bytes
        self.delay = settings.feed_host_delay_s
        self.deadline = 3 * settings.feed_timeout_s  # the whole request, body included
        self.client = httpx.AsyncClient(
            transport=_guarded_transport(AddressPolicy.parse(settings.fetch_allow)),
            follow_redirects=False,  # each hop is checked and followed in _get
            timeout=settings.feed_timeout_s,
            headers={"User-Agent": settings.feed_user_agent},
            trust_env=False,  # an HTTP(S)_PROXY would resolve and connect past the guard
        )
        self.slots = asyncio.Semaphore(settings.feed_concurrency)
        self.hosts: dict[str, asyncio.Lock] = {}
        self.last: dict[str, float] = {}  # host -> monotonic time of its last request

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.client.aclose()

    async def _turn(self, host: str) -> None:
        """Wait until `host` has had `delay` seconds of rest (the caller holds its lock)."""
        wait = self.last.get(host, -1e9) + self.delay - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.last[host] = time.monotonic()

    async def get(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        try:
            parts = urlsplit(url)
            valid = parts.scheme in ("http", "https") and parts.hostname and (parts.port or 1)
        except ValueError:  # a port out of range, a bad IPv6 literal
            valid = False
        if not valid or not parts.hostname:
            raise FeedError(f"{url!r} is not an http(s) URL")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        lock = self.hosts.setdefault(parts.hostname, asyncio.Lock())
        async with self.slots, lock:
            await self._turn(parts.hostname)
            try:
                async with asyncio.timeout(self.deadline):  # a server dripping bytes too
                    return await self._get(url, headers)
            except (httpx.TimeoutException, TimeoutError) as exc:
                raise FeedError(f"{url} timed out (QA_FEED_TIMEOUT_S): {exc!r}") from exc
            except httpx.HTTPError as exc:
                raise FeedError(f"{url} cannot be fetched: {exc!r}") from exc
            except httpx.InvalidURL as exc:
                raise FeedError(f"{url!r} is not a valid URL: {exc}") from exc

    async def _get(self, url: str, headers: dict[str, str]) -> Fetched:
        for _ in range(MAX_REDIRECTS + 1):
            request = self.client.build_request("GET", url, headers=headers)
            response = await self.client.send(request, stream=True)
            try:
                if not (response.is_redirect and "Location" in response.headers):
                    return await self._read(url, response)
            finally:
                await response.aclose()
            target = urljoin(url, response.headers["Location"])
            if urlsplit(target).scheme not in ("http", "https"):
                raise FeedError(f"{url} redirects to {target!r}, not an http(s) URL")
            url = target
        raise FeedError(f"{url}: more than {MAX_REDIRECTS} redirects")

    async def _read(self, url: str, response: httpx.Response) -> Fetched:
        if response.status_code == 304:
            body = b""
        elif response.status_code >= 400:
            raise FeedError(f"{url} answered HTTP {response.status_code}")
        else:
            size = response.headers.get("Content-Length", "")
            if size.isdigit() and int(size) > self.max_bytes:
                raise FeedError(f"{url} is {size} bytes; QA_FEED_MAX_BYTES={self.max_bytes}")
            parts: list[bytes] = []
            got = 0
            async for part in response.aiter_bytes():
                got += len(part)
                if got > self.max_bytes:
                    raise FeedError(
                        f"{url} is over {self.max_bytes} bytes (QA_FEED_MAX_BYTES): stopped"
                    )
                parts.append(part)
            body = b"".join(parts)
        return Fetched(
            url=str(response.url),
            status=response.status_code,
            body=body,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            charset=response.charset_encoding,
        )


def _guarded_transport(policy: AddressPolicy) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a connection pool whose sockets are opened by GuardedBackend
    (httpx takes no network backend argument: its pool is replaced)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=100,  # httpx's defaults
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(policy),
    )
    return transport
