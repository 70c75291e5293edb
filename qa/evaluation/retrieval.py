"""Retrieval metrics: how many gold sources a question needs, how many were found, the rank of
the first, and whether a date falls in the gold range."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from qa.evaluation.gold import GoldItem


def needed(item: GoldItem) -> int:
    """Gold sources an answer must cite: all for `all_answers`, else any one (each suffices)."""
    if not item.sources:
        return 0
    return len(set(item.sources)) if item.all_answers else 1


def source_hits(found: Iterable[str], item: GoldItem) -> int:
    """Gold sources among `found`, capped as in `needed`."""
    hits = len(set(found) & set(item.sources))
    return hits if item.all_answers else min(hits, 1)


def reciprocal_rank(ranked: Sequence[str], item: GoldItem) -> float:
    """1/rank of the first passage from a gold source; 0 when none was retrieved."""
    gold = set(item.sources)
    return next((1.0 / (r + 1) for r, source in enumerate(ranked) if source in gold), 0.0)


def in_range(day: date | None, item: GoldItem) -> bool:
    """Whether an article date fits the item's explicit range (undated never fits a range)."""
    if not (item.date_from or item.date_to):
        return True
    if day is None:
        return False
    return (item.date_from or date.min) <= day <= (item.date_to or date.max)
