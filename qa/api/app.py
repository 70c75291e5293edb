"""The application: create_app (settings, state, middleware, routers, the engine opened in
lifespan), the corpus rescan loop, and serve."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import partial
from typing import Any

import anyio
from anyio import to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from qa import __version__
from qa.answer import suggestions
from qa.answer.engine import Engine
from qa.api.errors import ERROR_RESPONSES, install_handlers
from qa.api.middleware import BodyLimit, SecurityHeaders
from qa.api.prometheus import Metrics, MetricsMiddleware
from qa.api.ratelimit import MovingWindow, RateLimit, parse_rate
from qa.api.routes import answers, documents, openai, service
from qa.api.routes.service import STATIC
from qa.config import Settings
from qa.errors import QAError
from qa.ingest import feeds
from qa.ingest.index import Index
from qa.ingest.report import describe
from qa.search.index_files import require_index

log = logging.getLogger(__name__)


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


async def _poll_feeds(app: FastAPI, seconds: float) -> None:
    """Poll QA_FEEDS now and every `seconds` (QA_FEED_SECONDS), then index the entries written.

    Survives any error, like the rescan: each feed's state is in /readyz (`feeds`); a feed or
    entry that failed is tried again at the next poll."""
    settings: Settings = app.state.settings
    due = True  # the feeds folder may hold entries an earlier run wrote but did not index
    while True:
        try:
            report = await feeds.poll(settings)
            app.state.feeds = {url: asdict(s) for url, s in report.feeds.items()}
            folder = feeds.feeds_folder(settings)
            if (due or report.written) and folder.is_dir():
                async with app.state.write_slot:
                    ingest = partial(app.state.engine.index.ingest, [folder])
                    done = await to_thread.run_sync(ingest)
                if done.changed:
                    log.info("feeds: %s", describe(done))
            due = False
        except Exception as exc:
            due = True
            app.state.feeds_error = f"{type(exc).__name__}: {exc}"[:300]
            if isinstance(exc, QAError):
                log.warning("feed poll failed: %s", exc)
            else:
                log.exception("feed poll failed", exc_info=exc)
        else:
            app.state.feeds_error = None
        await anyio.sleep(seconds)


def _open(settings: Settings, ingest: bool) -> Engine[Index]:
    """The engine over the index; refuses a missing index unless told to build it."""
    if not ingest:
        require_index(settings)  # before Engine.open, which would create an empty one
    engine = Engine.open(settings, Index)
    if ingest:
        log.info("ingest: %s", describe(engine.index.ingest()))
    return engine


def _warm_up(engine: Engine[Index]) -> None:
    """Everything the first answer would load, loaded now: /readyz means warm."""
    started = time.perf_counter()
    try:
        engine.warm_up()
    except QAError as exc:  # e.g. an LLM server not up yet: the service can still answer
        log.warning("warm-up question failed: %s", exc)
    log.info("warmed up in %.1f s", time.perf_counter() - started)


def _suggest(made: suggestions.Suggestions) -> None:
    """The suggested questions, made once in the background after the warm-up: the page's
    first request for them waits for this, not for its own."""
    started = time.perf_counter()
    try:
        questions = made.questions()
    except Exception as exc:  # in the background: logged, never raised (even at shutdown)
        log.warning("suggested questions failed: %s", exc)
        return
    log.info("%d suggested questions in %.1f s", len(questions), time.perf_counter() - started)


def create_app(
    settings: Settings,
    engine: Engine[Index] | None = None,
    *,
    ingest: bool = False,
    warm: bool | None = None,
) -> FastAPI:
    """The service; opens the engine in `lifespan` unless one is given (tests share one).

    `ingest`: index the corpus folder first (else a missing index stops the startup);
    `warm` (default: when the engine is opened here): answer one question before serving."""
    rate = parse_rate(settings.rate_limit)  # a bad QA_RATE_LIMIT fails here, at startup

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = engine if engine is not None else await to_thread.run_sync(_open, settings, ingest)
        app.state.suggestions = suggestions.for_engine(opened)
        warming = (engine is None) if warm is None else warm
        if warming:
            await to_thread.run_sync(_warm_up, opened)
        app.state.engine = opened
        async with anyio.create_task_group() as tasks:
            if warming:  # after /readyz (10 s of a start at 1M chunks): questions are
                # answered meanwhile, the page's suggestions request waits for them; a daemon
                # thread, so a shutdown does not wait for it either
                threading.Thread(
                    target=_suggest, args=(app.state.suggestions,), name="suggest", daemon=True
                ).start()
            if settings.rescan_seconds:
                tasks.start_soon(_rescan, app, settings.rescan_seconds)
            if settings.feeds and settings.feed_seconds:
                tasks.start_soon(_poll_feeds, app, settings.feed_seconds)
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
    app.state.feeds, app.state.feeds_error = {}, None
    install_handlers(app)
    for routes in (answers, openai, documents, service):
        app.include_router(routes.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if rate is not None:  # outside the body limit, inside CORS so browsers can read a 429
        # only what costs work: answers and writes, never the page, /static, probes, /metrics
        app.add_middleware(RateLimit, window=MovingWindow(rate, settings.rate_limit_storage))
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


def server_config(
    settings: Settings, host: str | None = None, port: int | None = None, ingest: bool = False
) -> Any:
    """The uvicorn config of `serve`: QA_HOST (127.0.0.1 by default) unless `host` is given.

    uvicorn trusts X-Forwarded-For only from FORWARDED_ALLOW_IPS (default 127.0.0.1,::1).
    """
    import uvicorn

    return uvicorn.Config(
        create_app(settings, ingest=ingest),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


def serve(
    settings: Settings, host: str | None = None, port: int | None = None, ingest: bool = False
) -> None:
    """Run the service with uvicorn (one process; the engine is loaded and warmed at startup)."""
    import uvicorn

    uvicorn.Server(server_config(settings, host, port, ingest)).run()
