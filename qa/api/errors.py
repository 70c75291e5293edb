"""One mapping from errors to JSON responses: QAError subclasses by their status, HTTP and
validation errors, and anything else as a logged 500."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from qa.api.models import ErrorBody
from qa.errors import QAError

log = logging.getLogger(__name__)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Bad input (a date, a backend, an upload) or an unreadable corpus file.",
        401: "The API key is missing or wrong (QA_API_KEY).",
        404: "No such document or endpoint.",
        409: "The index is busy (another ingest) or unusable.",
        413: "The request body is over QA_MAX_BODY_BYTES.",
        422: "The request does not match the schema.",
        429: "Over the per-client rate limit (QA_RATE_LIMIT); see Retry-After.",
        500: "Internal error; see the service log.",
        502: "The answer backend failed (unreachable, timeout, token cap).",
    }.items()
}


def _snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.rstrip("_"))
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def error_response(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(error_body(kind, message), status_code=status, headers=headers)


def _qa_error(_: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    return error_response(status, _snake(type(exc).__name__), str(exc))


def flat_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, those of included routers too (FastAPI nests them; ours have no prefix)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from flat_routes(included.routes)
        else:
            yield route


def _allowed_methods(request: Request) -> str:
    """Every method some route offers at this path (Starlette lists only the first route's)."""
    methods: set[str] = set()
    for route in flat_routes(request.app.router.routes):
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers["Allow"] = allowed
    phrase = HTTPStatus(exc.status_code).phrase
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if message is None:
        message = {
            404: "no such endpoint; see /docs for the API",
            405: "method not allowed on this endpoint; see /docs for the API",
        }.get(exc.status_code, phrase)
    return error_response(exc.status_code, _snake(phrase.replace(" ", "_")), message, headers)


def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            parts.append(f"body is not valid JSON: {err.get('ctx', {}).get('error', 'invalid')}")
            continue
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(422, "validation_error", "; ".join(parts) or "invalid request")


def _internal_error(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal error; see the service log")


def sse_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, QAError):
        return error_body(_snake(type(exc).__name__), str(exc))
    log.exception("unhandled error in a stream", exc_info=exc)
    return error_body("internal_error", "internal error; see the service log")


def install_handlers(app: FastAPI) -> None:
    """Every error becomes `{"error": {"type", "message"}}` with its status."""
    handlers: dict[Any, Callable[[Request, Exception], Response | Awaitable[Response]]] = {
        QAError: _qa_error,
        HTTPException: _http_error,
        RequestValidationError: _validation_error,
        Exception: _internal_error,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
