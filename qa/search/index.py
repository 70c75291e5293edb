"""The read side of one index: vectors (Chroma), the article catalog and the BM25 state that
search reads. Writing (ingest, uploads, deletes) is `qa.ingest.index.Index`, which extends it."""

from __future__ import annotations

from qa.config import Settings
from qa.errors import InputError, NotFoundError
from qa.search.catalog import ArticleRow, Catalog, make_engine
from qa.search.embedding import Embedder
from qa.search.index_files import Stats, folder_bytes
from qa.search.lexical import LexicalIndex
from qa.search.store import ChunkStore
from qa.text import has_control


def check_name(source: str) -> None:
    if has_control(source):
        raise InputError(
            f"source name {source!r} holds a control character; no article is named so "
            "(see GET /documents)"
        )


class SearchIndex:
    """One self-contained index, as search reads it: the chunk store, the catalog, BM25."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        self.store = ChunkStore(settings, embedder)
        engine = make_engine(settings.db_url)
        self.catalog = Catalog(engine)
        self._engine = engine
        self.bm25_dir = settings.index_dir / "bm25"
        self._lexical: LexicalIndex | None = None

    def article(self, source: str) -> tuple[ArticleRow, str]:
        check_name(source)
        row = self.catalog.rows().get(source)
        text = self.catalog.text(source)
        if row is None or text is None:
            raise NotFoundError(f"no indexed article named {source!r}; see GET /documents")
        return row, text

    def stats(self) -> Stats:
        rows = self.catalog.rows().values()
        dates = sorted(r.date for r in rows if r.date)
        return Stats(
            articles=len(rows),
            chunks=self.store.count(),
            undated=sum(1 for r in rows if r.date is None),
            first_date=dates[0].isoformat() if dates else None,
            last_date=dates[-1].isoformat() if dates else None,
            index_bytes=folder_bytes(self.settings.index_dir),
            embedding_model=self.embedder.name,
        )

    def lexical(self) -> LexicalIndex:
        """The current BM25 index, reloaded when an ingest (here or in a replica) replaced it."""
        version = self.catalog.get_state("bm25_version")
        if self._lexical is None or self._lexical.version != (version or ""):
            loaded = LexicalIndex.load(self.bm25_dir, version, reuse=self._lexical)
            if version and not loaded.version:  # the catalog names a manifest that is not there
                loaded = self._missing_manifest(version) or loaded
            self._lexical = loaded
        return self._lexical

    def _missing_manifest(self, version: str) -> LexicalIndex | None:
        """An ingest elsewhere published and pruned while we read (take its newer version), or
        an index written before segments existed (one bm25s folder per version): rebuilt from
        the stored chunks once, under the ingest lock, instead of serving without BM25."""
        newer = self.catalog.get_state("bm25_version")
        if newer and newer != version:
            return LexicalIndex.load(self.bm25_dir, newer, reuse=self._lexical)
        if not (self.bm25_dir / version).is_dir():
            return None
        return self._upgrade(version)

    def _upgrade(self, version: str) -> LexicalIndex | None:
        """BM25 in the older format at `version`: the read side cannot rebuild it (the write
        side, `qa.ingest.index.Index`, does)."""
        return None
