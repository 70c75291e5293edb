"""Request dependencies: the engine, API-key checks, and running blocking work off the event loop
(answers behind a semaphore, writes one at a time)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, TypeVar

import anyio
from anyio import to_thread
from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from qa.answer.engine import Engine
from qa.config import Settings
from qa.errors import BusyError
from qa.ingest.index import Index
from qa.schema import Answer, AskRequest

T = TypeVar("T")


def get_engine(request: Request) -> Engine[Index]:
    engine: Engine[Index] = request.app.state.engine
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


EngineDep = Annotated[Engine[Index], Depends(get_engine)]
ReadAccess = [Depends(read_access)]
WriteAccess = [Depends(write_access)]


async def answer_off_loop(request: Request, fn: Callable[[], T]) -> T:
    """Run an answer computation in a thread, at most `max_concurrency` at a time."""
    async with request.app.state.answer_slots:
        return await to_thread.run_sync(fn)


async def write_off_loop(request: Request, fn: Callable[[], T]) -> T:
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


async def stream_off_loop(
    request: Request, engine: Engine[Index], ask: AskRequest
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
