"""Per-client rate limit of the HTTP service (`QA_RATE_LIMIT`), a moving window.

Counted in memory (one process) or, with `QA_RATE_LIMIT_STORAGE=redis://...`, in Redis: one
count shared by every replica. One window per client address; behind a reverse proxy the
address is the one uvicorn puts in the ASGI scope (see `--proxy-headers` /
`--forwarded-allow-ips` in the README).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import limits
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.errors import InputError

UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_RATE = re.compile(r"(\d+)\s*/\s*(second|minute|hour|day)s?")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    def __str__(self) -> str:
        unit = next(u for u, s in UNITS.items() if s == self.seconds)
        return f"{self.count}/{unit}"


def parse_rate(text: str) -> Rate | None:
    """`N/second|minute|hour|day` -> Rate; `0` -> None (no limit); anything else is refused."""
    value = text.strip().lower()
    if value == "0":
        return None
    match = _RATE.fullmatch(value)
    if match is None or int(match.group(1)) < 1:
        raise InputError(
            f"QA_RATE_LIMIT {text!r} is not a rate; use e.g. 60/minute or 5/second, or 0 for none"
        )
    return Rate(int(match.group(1)), UNITS[match.group(2)])


class MovingWindow:
    """At most `rate.count` hits per client within any `rate.seconds` window: the `limits`
    library's moving-window strategy over `storage` (a `limits` URI: memory://, redis://...)."""

    def __init__(self, rate: Rate, storage: str = "memory://") -> None:
        self.rate = rate
        unit = next(u for u, s in UNITS.items() if s == rate.seconds)
        self.item = limits.parse(f"{rate.count}/{unit}")
        try:
            backend = storage_from_string(storage)
        except (ValueError, limits.errors.ConfigurationError) as exc:
            raise InputError(
                f"QA_RATE_LIMIT_STORAGE {storage!r} is not a usable `limits` storage ({exc}); "
                "use memory:// or redis://host:port/0"
            ) from exc
        self.limiter = MovingWindowRateLimiter(backend)

    def hit(self, client: str) -> float:
        """Record a hit; 0.0 if admitted, else the seconds until the client may retry."""
        if self.limiter.hit(self.item, client):
            return 0.0
        reset = self.limiter.get_window_stats(self.item, client).reset_time
        return max(reset - time.time(), 0.001)


COSTLY_PATHS = ("/ask", "/v1/")  # answers: /ask, /ask/stream, /v1/chat/completions, /v1/models
READS = frozenset({"GET", "HEAD"})


def costs_work(method: str, path: str) -> bool:
    """Whether a request counts against the limit: answers and writes do; the page, its static
    files, the probes, /metrics and other reads do not (a page load is a dozen requests), nor
    a CORS preflight (its request is counted when it comes)."""
    verb = method.upper()
    return verb != "OPTIONS" and (path.startswith(COSTLY_PATHS) or verb not in READS)


class RateLimit:
    """ASGI middleware answering 429 with a JSON error and `Retry-After` over the limit, on
    the requests that `limited(method, path)` says cost work."""

    def __init__(
        self,
        app: ASGIApp,
        window: MovingWindow,
        limited: Callable[[str, str], bool] = costs_work,
    ) -> None:
        self.app = app
        self.window = window
        self.limited = limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limited(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.window.hit(client[0] if client else "unknown")
        if not wait:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(wait))
        message = (
            f"rate limit of {self.window.rate} per client exceeded (QA_RATE_LIMIT); "
            f"retry in {retry} s"
        )
        body = json.dumps({"error": {"type": "too_many_requests", "message": message}}).encode()
        headers = [(b"content-type", b"application/json"), (b"retry-after", str(retry).encode())]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
