"""`qa ingest --reset` and rebuilds: every derived thing of an index deleted (Chroma collection,
catalog, record manager keys, BM25 files); the corpus files stay."""

from __future__ import annotations

import shutil

from qa.config import Settings
from qa.search.catalog import Catalog, make_engine
from qa.search.store import open_client


def reset_index(settings: Settings) -> None:
    """Delete every derived thing of this index (the corpus files stay).

    The catalog goes first and Chroma after the record manager: killed in between, the next
    ingest sees no article as indexed and writes every chunk whose record is gone. (Chroma
    first left records and a full catalog over an empty collection: the next ingest found
    nothing to do; tests/test_crash.py hit it.)"""
    from langchain_classic.indexes import SQLRecordManager

    engine = make_engine(settings.db_url)
    Catalog(engine).clear()
    records = SQLRecordManager(f"chroma/{settings.collection}", engine=engine)
    records.create_schema()
    while keys := records.list_keys(limit=10_000):
        records.delete_keys(keys)
    client = open_client(settings)
    if any(c.name == settings.collection for c in client.list_collections()):
        client.delete_collection(settings.collection)
    shutil.rmtree(settings.index_dir / "bm25", ignore_errors=True)
