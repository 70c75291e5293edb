"""qa/lexical.py: BM25 over chunks, versioned on disk, with date ranges."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from qa.chunking import ChunkMeta
from qa.lexical import LexicalIndex, tokenize
from qa.store import StoredChunk


def _chunk(cid: str, text: str, day: date | None) -> StoredChunk:
    meta = ChunkMeta(cid, f"{cid}.txt", 0, len(text), "h", "a", day)
    return StoredChunk(cid, text, meta.to_chroma())


CHUNKS = [
    _chunk("a", "Wagner fighters arrived in Mali in December.", date(2021, 12, 1)),
    _chunk("b", "The junta in Niger closed its airspace.", date(2023, 8, 6)),
    _chunk("c", "Wagner and the junta of Niger met in Bamako.", None),
]


def test_search_ranks_by_bm25_and_drops_stop_words(tmp_path: Path) -> None:
    index = LexicalIndex.build(CHUNKS, tmp_path)
    assert tokenize("The junta of Niger") == ["junta", "niger"]
    ranked = [cid for cid, _ in index.search("Niger junta", 3)]
    assert set(ranked) == {"b", "c"}  # "a" shares no term
    assert index.search("the of and", 3) == []  # only stop words: nothing to look for


def test_a_date_range_excludes_undated_and_out_of_range_chunks(tmp_path: Path) -> None:
    index = LexicalIndex.build(CHUNKS, tmp_path)
    found = index.search("Wagner Niger junta", 3, date_from=20230101, date_to=20231231)
    assert [cid for cid, _ in found] == ["b"]


def test_saved_versions_reload_and_prune(tmp_path: Path) -> None:
    first = LexicalIndex.build(CHUNKS, tmp_path)
    second = LexicalIndex.build(CHUNKS[:1], tmp_path)
    loaded = LexicalIndex.load(tmp_path, second.version)
    assert loaded.chunk_ids == ["a"] and loaded.search("Wagner", 2)[0][0] == "a"
    LexicalIndex.prune(tmp_path, keep=second.version)
    assert not (tmp_path / first.version).exists()
    assert LexicalIndex.load(tmp_path, first.version).search("Wagner", 2) == []  # gone: empty
