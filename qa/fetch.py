"""Polite HTTP GETs for feeds and their pages: one client, bounded concurrency, a pause between
requests to the same host, a timeout, a size cap enforced while streaming, and conditional
requests (ETag / Last-Modified)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from qa.config import Settings
from qa.errors import FeedError


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
            follow_redirects=True,
            max_redirects=5,
            timeout=settings.feed_timeout_s,
            headers={"User-Agent": settings.feed_user_agent},
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
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
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

    async def _get(self, url: str, headers: dict[str, str]) -> Fetched:
        async with self.client.stream("GET", url, headers=headers) as response:
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
