"""Dates in questions: "in August 2023", "before November 2023", "since 10 November", "latest"."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import regex as re

MONTHS = (  # month names and abbreviations -> number (also read by qa/headers.py)
    {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
    | {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
_M = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_WHEN = (
    rf"(?:{_DAY}\s+{_M}(?:,?\s+{_YEAR})?"  # 10 November [2023]
    rf"|{_M}\s+{_DAY}(?:,?\s+{_YEAR})?\b"  # November 10[, 2023]
    rf"|{_M}(?:,?\s+{_YEAR})?"  # November [2023]
    rf"|{_YEAR}-(?P<imonth>\d{{2}})-(?P<iday>\d{{2}})"  # 2023-11-10
    rf"|{_YEAR})"  # 2023
)
_PHRASE = re.compile(
    r"\b(?P<op>in|during|on|before|until|till|by|after|since|from|as of)\s+"
    rf"(?:early\s+|late\s+|mid-?\s*)?{_WHEN}\b",
    re.IGNORECASE,
)
_RECENT = re.compile(r"\b(latest|most recent(ly)?|newest|last reported|currently)\b", re.I)


def order_key(day: date | None) -> tuple[int, date]:
    """Sort key of article dates: dated oldest first, undated ("date unknown") last."""
    return (1, date.max) if day is None else (0, day)


@dataclass(frozen=True)
class DateFilter:
    date_from: date | None = None
    date_to: date | None = None
    recency: bool = False


def _span(match: re.Match, reference: date) -> tuple[date, date] | None:
    """The first and last day the matched expression can mean."""
    groups = match.groupdict()
    try:
        if groups.get("imonth"):
            exact = date(int(groups["year"]), int(groups["imonth"]), int(groups["iday"]))
            return exact, exact
        month = MONTHS.get((groups.get("month") or "").lower().rstrip("."))
        year = int(groups["year"]) if groups.get("year") else None
        if month is None:
            if year is None:
                return None
            return date(year, 1, 1), date(year, 12, 31)
        day = int(groups["day"]) if groups.get("day") else None
        if year is None:  # no year: the latest such day (or month) not after the reference date
            latest = (month, day or 1) <= (reference.month, reference.day)
            year = reference.year if latest else reference.year - 1
        if day is not None:
            return date(year, month, day), date(year, month, day)
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        return None


def parse_question_dates(question: str, reference: date | None = None) -> DateFilter:
    """Date constraints stated in a question; `reference` resolves dates without a year."""
    reference = reference or date.today()
    lo: date | None = None
    hi: date | None = None
    for match in _PHRASE.finditer(question):
        span = _span(match, reference)
        if span is None:
            continue
        op = match.group("op").lower()
        if op in {"in", "during", "on"}:
            lo, hi = span
        elif op in {"before"}:
            hi = span[0] - timedelta(days=1)
        elif op in {"until", "till", "by", "as of"}:
            hi = span[1]
        elif op in {"after"}:
            lo = span[1] + timedelta(days=1)
        elif op in {"since", "from"}:
            lo = span[0]
    return DateFilter(lo, hi, recency=bool(_RECENT.search(question)) and lo is None and hi is None)
