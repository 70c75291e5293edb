"""`qa ingest --reset` and rebuilds: every derived thing of an index deleted (Chroma collection,
catalog, record manager keys, BM25 files); the corpus files stay."""

from __future__ import annotations

import shutil

from qa.config import Settings
from qa.search.catalog import Catalog, make_engine
from qa.search.store import open_client


def reset_index(settings: Settings) -> None:
    """Delete every derived thing of this index (the corpus files stay)."""
    client = open_client(settings)
    if any(c.name == settings.collection for c in client.list_collections()):
        client.delete_collection(settings.collection)
    engine = make_engine(settings.db_url)
    Catalog(engine).clear()
    from langchain_classic.indexes import SQLRecordManager

    records = SQLRecordManager(f"chroma/{settings.collection}", engine=engine)
    records.create_schema()
    while keys := records.list_keys(limit=10_000):
        records.delete_keys(keys)
    shutil.rmtree(settings.index_dir / "bm25", ignore_errors=True)
