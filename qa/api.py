"""The HTTP service: JSON and streaming answers, OpenAI-compatible chat, documents, the chat page.

The engine (embedder, index, answer backend) is opened once in `lifespan`; every blocking call
runs in a worker thread, answers behind a semaphore of `max_concurrency`, writes one at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
from anyio import to_thread
from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa import __version__
from qa.config import Settings
from qa.engine import Engine
from qa.errors import BusyError, InputError, QAError
from qa.headers import lead
from qa.indexing import describe
from qa.metrics import Metrics, MetricsMiddleware
from qa.openai_compat import (
    MODEL_ID,
    ChatRequest,
    chat_to_ask,
    chunk,
    citations_json,
    completion,
    sources_text,
    usage,
)
from qa.ratelimit import MovingWindow, RateLimit, parse_rate
from qa.schema import Answer, AskRequest
from qa.suggestions import suggested_questions

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
UNLIMITED = ("/healthz", "/readyz")  # probes are never rate limited
RESCAN_FAILURES = 3  # consecutive failed rescans after which /readyz answers 503
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
DOCS_CSP = (  # Swagger UI and ReDoc start from an inline script
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
T = TypeVar("T")


# -- response models ------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(description="snake_case error class, e.g. validation_error.")
    message: str = Field(description="What was wrong and what to do.")


class ErrorBody(BaseModel):
    """Every error response: {"error": {"type", "message"}}."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


class DocumentInfo(BaseModel):
    source: str = Field(description="File name, or FILE#ID for a record of a dump.")
    title: str | None
    date: dt.date | None = Field(description="null means the date is unknown.")
    chunks: int
    lead: str | None = Field(None, description="The first sentence, a label when title is null.")


class DocumentPage(BaseModel):
    total: int
    offset: int
    limit: int
    documents: list[DocumentInfo]


class DocumentText(DocumentInfo):
    text: str = Field(description="The clean text; citation offsets index into it.")


class Duplicate(BaseModel):
    source: str
    same_as: str


class ProblemInfo(BaseModel):
    source: str
    message: str
    skipped: bool


class IngestSummary(BaseModel):
    added: int
    updated: int
    skipped: int
    deleted: int
    duplicates: list[Duplicate]
    problems: list[ProblemInfo]
    chunks_added: int
    chunks_deleted: int
    embedded: int
    seconds: float


class Suggestions(BaseModel):
    questions: list[str] = Field(description="Questions made from the articles' titles.")


class Ready(BaseModel):
    status: Literal["ready"]
    articles: int
    chunks: int
    backend: str


SSE_EVENT = {  # one Server-Sent Event of /ask/stream; `data` is JSON
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["token", "citations", "final", "error", "done"]},
        "data": {"type": "string", "description": "JSON: {text}, [citation], Answer, {error}, {}"},
    },
}


# -- errors ---------------------------------------------------------------------------------

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


def _error(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(error_body(kind, message), status_code=status, headers=headers)


def _qa_error(_: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    return _error(status, _snake(type(exc).__name__), str(exc))


def _allowed_methods(request: Request) -> str:
    """Every method some route offers at this path (Starlette lists only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
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
    return _error(exc.status_code, _snake(phrase.replace(" ", "_")), message, headers)


def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            parts.append(f"body is not valid JSON: {err.get('ctx', {}).get('error', 'invalid')}")
            continue
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return _error(422, "validation_error", "; ".join(parts) or "invalid request")


def _internal_error(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return _error(500, "internal_error", "internal error; see the service log")


def _sse_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, QAError):
        return error_body(_snake(type(exc).__name__), str(exc))
    log.exception("unhandled error in a stream", exc_info=exc)
    return error_body("internal_error", "internal error; see the service log")


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413 (Starlette has no limit of its own)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"request body over the limit of {self.limit} bytes (QA_MAX_BODY_BYTES)"
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            body = json.dumps(error_body("request_entity_too_large", too_large)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, too_large)
            return message

        await self.app(scope, counted, send)


class SecurityHeaders:
    """The chat page's CSP and framing rules on every page we serve: /static, /docs, /redoc."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(("/docs", "/redoc")):
            extra = {**PAGE_HEADERS, "Content-Security-Policy": DOCS_CSP}
        elif path == "/" or path.startswith("/static"):
            extra = PAGE_HEADERS
        else:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                added = [
                    (k.lower().encode(), v.encode())
                    for k, v in extra.items()
                    if k.lower().encode() not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- dependencies ---------------------------------------------------------------------------


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def _check_key(request: Request, write: bool) -> None:
    settings: Settings = request.app.state.settings
    if not settings.api_key or not (write or settings.api_key_required_for_read):
        return
    key = _presented_key(request)
    if key is None or not secrets.compare_digest(key.encode(), settings.api_key.encode()):
        raise HTTPException(
            401,
            "this endpoint needs the API key: send `Authorization: Bearer KEY` or `X-API-Key`",
            headers={"WWW-Authenticate": "Bearer"},
        )


def read_access(request: Request) -> None:
    _check_key(request, write=False)


def write_access(request: Request) -> None:
    _check_key(request, write=True)


EngineDep = Annotated[Engine, Depends(get_engine)]
ReadAccess = [Depends(read_access)]
WriteAccess = [Depends(write_access)]


async def _answer_off_loop(request: Request, fn: Callable[[], T]) -> T:
    """Run an answer computation in a thread, at most `max_concurrency` at a time."""
    async with request.app.state.answer_slots:
        return await to_thread.run_sync(fn)


async def _write_off_loop(request: Request, fn: Callable[[], T]) -> T:
    """Run an index write in a thread, one at a time here (the index file lock covers others);
    a write that waits longer than QA_WRITE_WAIT_S for its turn is a 409, not a queue."""
    wait = request.app.state.settings.write_wait_s
    try:
        with anyio.fail_after(wait):
            await request.app.state.write_slot.acquire()
    except TimeoutError as exc:
        raise BusyError(
            f"another upload, delete or ingest has held the index for over {wait:g} s "
            "(QA_WRITE_WAIT_S); retry when it has finished"
        ) from exc
    try:
        return await to_thread.run_sync(fn)
    finally:
        request.app.state.write_slot.release()


async def _stream_off_loop(
    request: Request, engine: Engine, ask: AskRequest
) -> AsyncIterator[tuple[str, object]]:
    """The engine's (kind, value) stream, each step run in a thread, holding one answer slot."""
    async with request.app.state.answer_slots:
        items: Iterator[tuple[str, object]] = await to_thread.run_sync(
            lambda: iter(engine.stream(ask))
        )
        try:
            while (item := await to_thread.run_sync(next, items, None)) is not None:
                if item[0] == "final" and isinstance(item[1], Answer):
                    request.app.state.metrics.observe_answer(item[1])
                yield item
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()


# -- routes ---------------------------------------------------------------------------------


def _add_answer_routes(app: FastAPI) -> None:
    @app.post("/ask", response_model=Answer, tags=["answers"], dependencies=ReadAccess)
    async def ask(request: Request, body: AskRequest, engine: EngineDep) -> Answer:
        """Answer a question from the indexed articles, every sentence cited and verified."""
        answer = await _answer_off_loop(request, lambda: engine.ask(body))
        request.app.state.metrics.observe_answer(answer)
        return answer

    @app.post(
        "/ask/stream",
        tags=["answers"],
        dependencies=ReadAccess,
        response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}}},
    )
    async def ask_stream(request: Request, body: AskRequest, engine: EngineDep) -> Response:
        """Server-Sent Events: `token`*, `citations`, `final` (the verified Answer), `done`.

        A failure becomes an `error` event (`{"error": {"type", "message"}}`) before `done`.
        """

        async def events() -> AsyncIterator[ServerSentEvent]:
            try:
                async for kind, value in _stream_off_loop(request, engine, body):
                    if kind == "token":
                        yield ServerSentEvent(json.dumps({"text": value}), event="token")
                    elif kind == "final" and isinstance(value, Answer):
                        cites = json.dumps(citations_json(value.citations))
                        yield ServerSentEvent(cites, event="citations")
                        yield ServerSentEvent(value.model_dump_json(), event="final")
            except Exception as exc:
                yield ServerSentEvent(json.dumps(_sse_error(exc)), event="error")
            yield ServerSentEvent("{}", event="done")

        return EventSourceResponse(events(), ping=10)

    @app.get("/v1/models", tags=["openai"], dependencies=ReadAccess)
    async def models() -> dict[str, Any]:
        """The one model: the indexed articles."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "news-qa"}],
        }

    @app.post("/v1/chat/completions", tags=["openai"], dependencies=ReadAccess)
    async def chat_completions(request: Request, body: ChatRequest, engine: EngineDep) -> Response:
        """OpenAI-compatible chat; sources appended to the content and in `citations`."""
        ask_request = chat_to_ask(body)
        model = body.model or MODEL_ID
        if not body.stream:
            answer = await _answer_off_loop(request, lambda: engine.ask(ask_request))
            request.app.state.metrics.observe_answer(answer)
            return JSONResponse(completion(ask_request, answer, model))
        cid = f"chatcmpl-{uuid.uuid4().hex}"

        async def chunks() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent(chunk(cid, model, {"role": "assistant", "content": ""}))
            sent = ""
            try:
                async for kind, value in _stream_off_loop(request, engine, ask_request):
                    if kind == "token" and isinstance(value, str):
                        sent += value
                        yield ServerSentEvent(chunk(cid, model, {"content": value}))
                    elif kind == "final" and isinstance(value, Answer):
                        # the verified text was streamed; send what is left and the sources
                        sources = sources_text(value.citations)
                        rest = value.answer[len(sent) :] if value.answer.startswith(sent) else ""
                        last = json.loads(chunk(cid, model, {"content": rest + sources}, "stop"))
                        last["usage"] = usage(ask_request, value.answer + sources)
                        last["citations"] = citations_json(value.citations)
                        last["refused"] = value.refused
                        short = value.short_answer
                        last["short_answer"] = short.model_dump() if short else None
                        yield ServerSentEvent(json.dumps(last))
            except Exception as exc:
                yield ServerSentEvent(json.dumps(_sse_error(exc)))
            yield ServerSentEvent("[DONE]")

        return EventSourceResponse(chunks(), ping=10)


def _add_document_routes(app: FastAPI) -> None:
    def info(row: Any, text: str | None = None) -> DocumentInfo:
        return DocumentInfo(
            source=row.source,
            title=row.title,
            date=row.date,
            chunks=row.chunk_count,
            lead=lead(text) if text and not row.title else None,
        )

    def matches(row: Any, words: list[str]) -> bool:
        seen = f"{row.source} {row.title or ''} {row.date or 'date unknown'}".lower()
        return all(word in seen for word in words)

    @app.get("/documents", response_model=DocumentPage, tags=["documents"], dependencies=ReadAccess)
    async def list_documents(
        request: Request,
        engine: EngineDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
        q: Annotated[str, Query(max_length=200, description="Words in file, title or date.")] = "",
    ) -> DocumentPage:
        """The indexed articles by file name, a page at a time, optionally filtered by `q`."""

        def listing() -> DocumentPage:
            catalog = engine.index.catalog
            rows = catalog.rows()
            words = q.lower().split()
            ordered = [rows[s] for s in sorted(rows) if matches(rows[s], words)]
            chosen = ordered[offset : offset + limit]
            page = [info(r, None if r.title else catalog.text(r.source)) for r in chosen]
            return DocumentPage(total=len(ordered), offset=offset, limit=limit, documents=page)

        return await to_thread.run_sync(listing)

    @app.get(
        "/documents/{source:path}",
        response_model=DocumentText,
        tags=["documents"],
        dependencies=ReadAccess,
    )
    async def get_document(source: str, engine: EngineDep) -> DocumentText:
        """One article's clean text and metadata (encode `#` in FILE#ID as %23)."""
        row, text = await to_thread.run_sync(engine.index.article, source)
        return DocumentText(**info(row, text).model_dump(), text=text)

    @app.get(
        "/suggestions", response_model=Suggestions, tags=["documents"], dependencies=ReadAccess
    )
    async def suggestions(engine: EngineDep) -> Suggestions:
        """A few questions for an empty chat page, from the newest articles' titles."""

        def make() -> Suggestions:
            catalog = engine.index.catalog
            rows = sorted(
                catalog.rows().values(),
                key=lambda r: (r.date is not None, r.date or dt.date.min),
                reverse=True,
            )
            labels = []
            for row in rows[:20]:
                label = row.title or lead(catalog.text(row.source) or "")
                labels.append((label, row.date))
            return Suggestions(questions=suggested_questions(labels))

        return await to_thread.run_sync(make)

    @app.post(
        "/documents", response_model=IngestSummary, tags=["documents"], dependencies=WriteAccess
    )
    async def upload_documents(
        request: Request, engine: EngineDep, files: Annotated[list[UploadFile], File()]
    ) -> dict[str, Any]:
        """Upload one or more articles into the corpus folder and index them."""
        cap = request.app.state.settings.max_upload_bytes
        payload = [(f.filename or "", await f.read(cap + 1)) for f in files]
        for name, data in payload:  # refuse here: a truncated read must never be indexed
            if len(data) > cap:
                raise InputError(f"{name!r} is over the upload limit of {cap} bytes")
        report = await _write_off_loop(request, lambda: engine.index.add_files(payload))
        return describe(report)

    @app.delete(
        "/documents/{source:path}",
        response_model=IngestSummary,
        tags=["documents"],
        dependencies=WriteAccess,
    )
    async def delete_document(request: Request, source: str, engine: EngineDep) -> dict[str, Any]:
        """Remove an article: its chunks and its file in the corpus folder."""
        report = await _write_off_loop(request, lambda: engine.index.delete(source))
        return describe(report)

    @app.post("/ingest", response_model=IngestSummary, tags=["documents"], dependencies=WriteAccess)
    async def ingest(request: Request, engine: EngineDep) -> dict[str, Any]:
        """Rescan the corpus folder: index new and changed files, drop removed ones."""
        report = await _write_off_loop(request, engine.index.ingest)
        return describe(report)


def _add_service_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/readyz", response_model=Ready, tags=["service"], responses={503: {"model": ErrorBody}}
    )
    async def readyz(request: Request) -> Response:
        """The index and the models are loaded and the index answers."""
        engine: Engine | None = getattr(request.app.state, "engine", None)
        if engine is None:
            return _error(503, "not_ready", "the engine is still loading; retry shortly")
        failures, last = request.app.state.rescan_failures, request.app.state.rescan_error
        if failures >= RESCAN_FAILURES:
            message = f"the corpus rescan failed {failures} times in a row, last: {last}"
            return _error(503, "not_ready", f"{message}; see the service log")
        try:
            articles = await to_thread.run_sync(engine.index.catalog.count)
            chunks = await to_thread.run_sync(engine.index.store.count)
        except Exception as exc:
            log.warning("readiness check failed: %s", exc)
            return _error(503, "not_ready", f"the index does not answer: {exc}")
        backend = engine.settings.llm_backend
        return JSONResponse(
            Ready(status="ready", articles=articles, chunks=chunks, backend=backend).model_dump()
        )

    @app.get("/metrics", tags=["service"], dependencies=ReadAccess)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics."""
        registry: Metrics = request.app.state.metrics
        return Response(registry.render(), media_type=registry.content_type)

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


# -- app ------------------------------------------------------------------------------------


async def _rescan(app: FastAPI, seconds: float) -> None:
    """Index files dropped into the corpus folder, every `seconds` (QA_RESCAN_SECONDS).

    Survives any error: it is logged and counted, and /readyz reports a rescan that keeps failing.
    """
    while True:
        await anyio.sleep(seconds)
        try:
            async with app.state.write_slot:
                report = await to_thread.run_sync(app.state.engine.index.ingest)
            if report.changed:
                log.info("rescan: %s", describe(report))
            app.state.rescan_failures, app.state.rescan_error = 0, None
        except Exception as exc:
            app.state.rescan_failures += 1
            app.state.rescan_error = f"{type(exc).__name__}: {exc}"[:300]
            if isinstance(exc, QAError):
                log.warning("rescan failed: %s", exc)
            else:
                log.exception("rescan failed", exc_info=exc)


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The service; opens the engine in `lifespan` unless one is given (tests share one)."""
    rate = parse_rate(settings.rate_limit)  # a bad QA_RATE_LIMIT fails here, at startup

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or await to_thread.run_sync(Engine.open, settings)
        async with anyio.create_task_group() as tasks:
            if settings.rescan_seconds:
                tasks.start_soon(_rescan, app, settings.rescan_seconds)
            yield
            tasks.cancel_scope.cancel()
        if engine is None:  # an engine handed in (tests) is closed by its owner
            app.state.engine.close()

    app = FastAPIOffline(  # FastAPI with /docs served from the package: works offline
        title="news-qa",
        version=__version__,
        summary="Answers from dated news articles, every claim cited with file and date.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,  # every error is {"error": {"type", "message"}}
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.answer_slots = anyio.Semaphore(settings.max_concurrency)
    app.state.write_slot = anyio.Lock()
    app.state.rescan_failures, app.state.rescan_error = 0, None
    handlers: dict[Any, Callable[[Request, Exception], Response | Awaitable[Response]]] = {
        QAError: _qa_error,
        HTTPException: _http_error,
        RequestValidationError: _validation_error,
        Exception: _internal_error,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
    _add_answer_routes(app)
    _add_document_routes(app)
    _add_service_routes(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if rate is not None:  # outside the body limit, inside CORS so browsers can read a 429
        app.add_middleware(RateLimit, window=MovingWindow(rate), exempt=UNLIMITED)
    if settings.cors_origins:  # closed unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders)
    return app


def server_config(settings: Settings, host: str | None = None, port: int | None = None) -> Any:
    """The uvicorn config of `serve`: QA_HOST (127.0.0.1 by default) unless `host` is given.

    uvicorn trusts X-Forwarded-For only from FORWARDED_ALLOW_IPS (default 127.0.0.1,::1).
    """
    import uvicorn

    return uvicorn.Config(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the service with uvicorn (one process; the engine is loaded once at startup)."""
    import uvicorn

    uvicorn.Server(server_config(settings, host, port)).run()
