"""Idempotent ingest: corpus files -> chunks -> Chroma, with LangChain's record manager. The
catalog decides what to chunk at all (plan.py); LangChain's `index()` with per-source
incremental cleanup decides which chunks to embed, skip or delete."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import AcquireReturnProxy, FileLock, Timeout

from qa.config import Settings
from qa.errors import BusyError, InputError, NotFoundError
from qa.ingest.ahead import Lookup, chunked, embedded_ahead
from qa.ingest.corpus import DUMP_TYPES, Folders, expand_paths, read_paths
from qa.ingest.plan import groups, plan
from qa.ingest.report import IngestReport
from qa.ingest.reset import reset_index
from qa.ingest.uploads import check_uploads
from qa.search.catalog import refresh_statistics
from qa.search.embedding import Embedder
from qa.search.index import SearchIndex, check_name
from qa.search.index_files import MODEL_KEY
from qa.search.lexical import LexicalIndex
from qa.search.segments import SegmentBuilder
from qa.search.store import ChunkStore
from qa.types import Article, StoredChunk

if TYPE_CHECKING:
    from langchain_classic.indexes import SQLRecordManager
    from langchain_core.documents import Document

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class Index(SearchIndex):
    """An index with its write side: ingest, uploads, deletes, rebuilds, under the ingest lock."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        super().__init__(settings, embedder)
        self.lock = FileLock(str(settings.index_dir / ".ingest.lock"))

    @cached_property
    def records(self) -> SQLRecordManager:
        """LangChain's record manager, opened on first use: only writes and `qa verify` need it,
        so answering never imports LangChain's indexing (about 4 s without compiled bytecode)."""
        from langchain_classic.indexes import SQLRecordManager

        records = SQLRecordManager(f"chroma/{self.settings.collection}", engine=self._engine)
        records.create_schema()
        return records

    @property
    def folders(self) -> Folders:
        """The corpus folder and the feeds folder, read as one corpus."""
        return Folders(self.settings.corpus_dir, self.settings.feeds_folder)

    def _upgrade(self, version: str) -> LexicalIndex | None:
        """BM25 written before segments existed: rebuilt from the stored chunks once, under the
        ingest lock (an ingest that holds it rebuilds it anyway)."""
        log.warning("BM25 at %s is in an older format: rebuilding it once", self.bm25_dir)
        try:
            with self._locked(self.settings.write_wait_s):
                if self.catalog.get_state("bm25_version") == version:
                    self._rebuild_lexical()
        except BusyError:
            log.warning("BM25 upgrade waits for the ingest that holds the lock")
            return None
        return self._lexical

    # -- writing -----------------------------------------------------------------------------

    def _locked(self, wait: float) -> AcquireReturnProxy:
        """The ingest lock, held for one `with` block (acquire once, release once).

        Holding it, no upload is in progress: staging folders left by a crash are removed."""
        try:
            held = self.lock.acquire(timeout=wait)
        except Timeout as exc:
            raise BusyError(
                f"another ingest holds {self.lock.lock_file}; wait for it to finish and retry"
            ) from exc
        root = self.settings.corpus_dir
        for leftover in root.glob(".staging-*") if root.is_dir() else ():
            shutil.rmtree(leftover, ignore_errors=True)
        return held

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        progress: Progress | None = None,
        wait: float = 60.0,
    ) -> IngestReport:
        """Index the corpus folder (or only `paths`); removed files lose their chunks."""
        started = time.perf_counter()
        folders = self.folders
        files = folders.files() if paths is None else expand_paths(paths)
        with self._locked(wait):
            read = read_paths(files, folders)
            report = IngestReport(problems=read.problems)
            scope = None if paths is None else {folders.name(p) for p in files}
            self._apply(read.articles, scope, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def _apply(
        self,
        found: list[Article],
        scope: set[str] | None,
        report: IngestReport,
        progress: Progress | None,
    ) -> None:
        rows = self.catalog.rows()
        todo, gone = plan(found, rows, scope, report)
        if self.catalog.get_state(MODEL_KEY) != self.embedder.name:  # read by `qa stats`
            self.catalog.set_state(MODEL_KEY, self.embedder.name)
        dirty = self.catalog.get_state("dirty") == "1"
        # BM25 grows by the chunks written here unless an ingest died mid-way or the manifest
        # is missing (an index of an older version): then it is rebuilt
        stale = self.lexical().version != (self.catalog.get_state("bm25_version") or "")
        if not (todo or gone or dirty or stale):
            return
        grow = not (dirty or stale)
        self.catalog.set_state("dirty", "1")
        dropped: set[str] = set()
        added = SegmentBuilder()
        report.chunks_deleted += self._drop_sources(sorted(gone), dropped)
        replaced = [a.source for a in todo if a.source in rows]
        for start in range(0, len(replaced), 500):
            dropped.update(self.records.list_keys(group_ids=replaced[start : start + 500]))
        self._embed(todo, grow, added, report, progress)
        if grow:
            self._grow_lexical(added, dropped)
        else:
            self._rebuild_lexical()
        self.catalog.set_state("dirty", "0")
        refresh_statistics(self._engine)

    def _embed(
        self,
        todo: list[Article],
        grow: bool,
        added: SegmentBuilder,
        report: IngestReport,
        progress: Progress | None,
    ) -> None:
        """Chunk and embed `todo` in groups (LangChain's index() with incremental cleanup per
        source), catalogued group by group; the next group embeds while one is written (ahead.py);
        with `grow`, the new chunks join `added` (BM25)."""
        from langchain_core.indexing import index as lc_index

        lookup = Lookup(self.embedder)
        writer = self.store.vectors_using(lookup)
        done = 0
        prepared = (chunked(group, self.settings, self.embedder) for group in groups(todo))
        for (group, docs, counts), vectors in embedded_ahead(prepared, self._new, self.embedder):
            lookup.vectors = vectors
            result = lc_index(
                docs,
                self.records,
                writer,
                batch_size=max(1, len(docs)),
                cleanup="incremental",
                source_id_key="source",
                key_encoder=lambda d: str(d.metadata["chunk_id"]),
            )
            report.chunks_added += result["num_added"]
            # counted here, not by the embedder: questions are embedded meanwhile by the same one
            report.embedded += result["num_added"] + result["num_updated"]
            report.chunks_deleted += result["num_deleted"]
            for doc in docs if grow else ():
                added.add(StoredChunk(str(doc.id), doc.page_content, doc.metadata))
            for article, count in zip(group, counts, strict=True):
                self.catalog.put(article, count)
            done += len(group)
            if progress:
                progress(done, len(todo))

    def _new(self, prepared: tuple[list[Article], list[Document], list[int]]) -> list[str]:
        """The texts of a group's chunks not recorded yet: those index() will embed."""
        docs = prepared[1]
        known = self.records.exists([str(d.id) for d in docs]) if docs else []
        return [d.page_content for d, seen in zip(docs, known, strict=True) if not seen]

    def _drop_sources(self, sources: Sequence[str], dropped: set[str]) -> int:
        """Delete articles' chunks, up to 500 articles per Chroma call (a metadata lookup in
        Chroma scans every chunk: 0.14 s at 1M chunks); their ids join `dropped` (BM25
        tombstones)."""
        deleted = 0
        for start in range(0, len(sources), 500):
            part = list(sources[start : start + 500])
            while keys := self.records.list_keys(group_ids=part, limit=5000):
                self.store.delete(keys)
                self.records.delete_keys(keys)
                dropped.update(keys)
                deleted += len(keys)
            # chunks written to Chroma by an ingest that died before recording them
            orphans = [c.chunk_id for c in self.store.get(where={"source": {"$in": part}})]
            self.store.delete(orphans)
            dropped.update(orphans)
            deleted += len(orphans)
            for source in part:
                self.catalog.remove(source)
        return deleted

    def _publish_lexical(self, lexical: LexicalIndex) -> None:
        previous = self.catalog.get_state("bm25_version")
        self.catalog.set_state("bm25_version", lexical.version)
        # the previous version stays on disk for replicas that have not reloaded yet
        LexicalIndex.prune(self.bm25_dir, keep={lexical.version, previous or ""})
        self._lexical = lexical

    def _grow_lexical(self, added: SegmentBuilder, dropped: set[str]) -> None:
        """New chunks as one more segment, replaced ones tombstoned; then, published, merge
        segments of one size class if enough piled up (published again)."""
        lexical = self.lexical().grow(self.bm25_dir, added, dropped)
        self._publish_lexical(lexical)
        merged = lexical.compact(self.bm25_dir)
        if merged is not lexical:
            self._publish_lexical(merged)

    def _rebuild_lexical(self) -> None:
        self._publish_lexical(LexicalIndex.build(self.store.iter_all(), self.bm25_dir))

    def delete(self, source: str, wait: float = 60.0) -> IngestReport:
        """Remove one article (or every record of a dump file): its chunks, and its file.

        A corpus file that is not indexed (the same text as another article) is just removed."""
        check_name(source)
        path = self.folders.file(source)
        rows = self.catalog.rows()
        dump = path is not None and path.suffix.lower() in DUMP_TYPES
        sources = [s for s in rows if s == source or (dump and s.startswith(f"{source}#"))]
        if not sources:
            if path is None:
                raise NotFoundError(f"no indexed article named {source!r}; see GET /documents")
            with self._locked(wait):
                path.unlink(missing_ok=True)
            return IngestReport(deleted=[source])
        if path is None and "#" in source:
            raise InputError(
                f"{source!r} is one record of a dump file; remove it from "
                f"{source.split('#', 1)[0]!r} and run ingest"
            )
        report = IngestReport()
        with self._locked(wait):
            dirty = self.catalog.get_state("dirty") == "1"
            self.catalog.set_state("dirty", "1")
            dropped: set[str] = set()
            report.chunks_deleted += self._drop_sources(sorted(sources), dropped)
            report.deleted.extend(sorted(sources))
            if path is not None:
                path.unlink(missing_ok=True)
            if dirty:
                self._rebuild_lexical()
            else:
                self._grow_lexical(SegmentBuilder(), dropped)
            self.catalog.set_state("dirty", "0")
            refresh_statistics(self._engine)
        return report

    def add_files(self, files: Sequence[tuple[str, bytes]], wait: float = 60.0) -> IngestReport:
        """Validate uploads, index them, and only then move them into the corpus folder.

        All files are checked first: one bad file rejects the whole upload, writing nothing.
        The files wait in a hidden staging folder (ingest ignores it) that is always removed.
        An upload with the same text as an indexed article is kept and reported as a duplicate
        (DELETE removes it like any corpus file).
        """
        checked = check_uploads(files, self.settings.max_upload_bytes)
        started = time.perf_counter()
        root = self.settings.corpus_dir
        root.mkdir(parents=True, exist_ok=True)
        report = IngestReport(problems=[p for _, _, r in checked for p in r.problems])
        with self._locked(wait):
            staging = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
            try:
                for clean, data, _ in checked:
                    (staging / clean).write_bytes(data)
                articles = [a for _, _, r in checked for a in r.articles]
                self._apply(articles, {c for c, _, _ in checked}, report, None)
                for clean, _, _ in checked:
                    os.replace(staging / clean, root / clean)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        report.seconds = time.perf_counter() - started
        return report

    def rebuild(self, wait: float = 60.0) -> IngestReport:
        """Delete everything derived and ingest the corpus folder again, holding the lock."""
        with self._locked(wait):
            reset_index(self.settings)
            self.store = ChunkStore(self.settings, self.embedder, self.store.client)
            self._lexical = None
            return self.ingest(wait=wait)  # the lock is re-entrant for the same Index
