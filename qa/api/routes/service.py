"""The service: liveness, readiness, Prometheus metrics, the chat page and its icon."""

from __future__ import annotations

import logging
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from qa.answer.engine import Engine
from qa.api.deps import ReadAccess
from qa.api.errors import error_response
from qa.api.middleware import PAGE_HEADERS
from qa.api.models import ErrorBody, Ready
from qa.api.prometheus import Metrics
from qa.ingest.index import Index

STATIC = Path(__file__).resolve().parent.parent.parent / "static"
RESCAN_FAILURES = 3  # consecutive failed rescans after which /readyz answers 503

log = logging.getLogger(__name__)


router = APIRouter()


@router.get("/healthz", tags=["service"])
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz", response_model=Ready, tags=["service"], responses={503: {"model": ErrorBody}}
)
async def readyz(request: Request) -> Response:
    """The index and the models are loaded and the index answers."""
    engine: Engine[Index] | None = getattr(request.app.state, "engine", None)
    if engine is None:
        return error_response(503, "not_ready", "the engine is still loading; retry shortly")
    failures, last = request.app.state.rescan_failures, request.app.state.rescan_error
    if failures >= RESCAN_FAILURES:
        message = f"the corpus rescan failed {failures} times in a row, last: {last}"
        return error_response(503, "not_ready", f"{message}; see the service log")
    try:
        articles = await to_thread.run_sync(engine.index.catalog.count)
        chunks = await to_thread.run_sync(engine.index.store.count)
    except Exception as exc:
        log.warning("readiness check failed: %s", exc)
        return error_response(503, "not_ready", f"the index does not answer: {exc}")
    backend = engine.settings.llm_backend
    polled = request.app.state.feeds if engine.settings.feeds else None
    ready = Ready(
        status="ready",
        articles=articles,
        chunks=chunks,
        backend=backend,
        feeds=polled,
        feeds_error=request.app.state.feeds_error,
    )
    body = ready.model_dump()
    for key in ("feeds", "feeds_error"):  # only with feeds: the answer is as before without
        if body[key] is None:
            del body[key]
    return JSONResponse(body)


@router.get("/metrics", tags=["service"], dependencies=ReadAccess)
async def metrics(request: Request) -> Response:
    """Prometheus metrics."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)


@router.get("/", include_in_schema=False)
async def page() -> Response:
    return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon")
