"""Documents: list, read, upload, delete, rescan, and suggested questions about them."""

from __future__ import annotations

from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, File, Query, Request, UploadFile

from qa.answer.suggestions import Suggestions as SuggestionList
from qa.api.deps import EngineDep, ReadAccess, WriteAccess, write_off_loop
from qa.api.models import DocumentInfo, DocumentPage, DocumentText, IngestSummary, Suggestions
from qa.errors import InputError
from qa.ingest.report import describe
from qa.text import lead

router = APIRouter()


def info(row: Any, text: str | None = None) -> DocumentInfo:
    return DocumentInfo(
        source=row.source,
        title=row.title,
        date=row.date,
        chunks=row.chunk_count,
        lead=lead(text) if text and not row.title else None,
        url=row.url,
        author=row.author,
    )


def matches(row: Any, words: list[str]) -> bool:
    seen = f"{row.source} {row.title or ''} {row.date or 'date unknown'}".lower()
    return all(word in seen for word in words)


@router.get("/documents", response_model=DocumentPage, tags=["documents"], dependencies=ReadAccess)
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


@router.get(
    "/documents/{source:path}",
    response_model=DocumentText,
    tags=["documents"],
    dependencies=ReadAccess,
)
async def get_document(source: str, engine: EngineDep) -> DocumentText:
    """One article's clean text and metadata (encode `#` in FILE#ID as %23)."""
    row, text = await to_thread.run_sync(engine.index.article, source)
    return DocumentText(**info(row, text).model_dump(), text=text)


@router.get("/suggestions", response_model=Suggestions, tags=["documents"], dependencies=ReadAccess)
async def suggestions(request: Request) -> Suggestions:
    """Up to four who/what/when questions about the newest articles' entities and events,
    each one the service answers (asked at startup; again after the articles change)."""
    made: SuggestionList = request.app.state.suggestions
    return Suggestions(questions=await to_thread.run_sync(made.questions))


@router.post(
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
    report = await write_off_loop(request, lambda: engine.index.add_files(payload))
    return describe(report)


@router.delete(
    "/documents/{source:path}",
    response_model=IngestSummary,
    tags=["documents"],
    dependencies=WriteAccess,
)
async def delete_document(request: Request, source: str, engine: EngineDep) -> dict[str, Any]:
    """Remove an article: its chunks and its file in the corpus folder."""
    report = await write_off_loop(request, lambda: engine.index.delete(source))
    return describe(report)


@router.post("/ingest", response_model=IngestSummary, tags=["documents"], dependencies=WriteAccess)
async def ingest(request: Request, engine: EngineDep) -> dict[str, Any]:
    """Rescan the corpus folder: index new and changed files, drop removed ones."""
    report = await write_off_loop(request, engine.index.ingest)
    return describe(report)
