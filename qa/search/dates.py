"""Dates in questions: "in August 2023", "before November 2023", "since 10 November", "latest",
and expressions relative to the moment the question is asked ("this week", "on Tuesday",
"last month", "3 days ago", "recently"), resolved against `as_of`."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import regex as re

MONTHS = (  # month names and abbreviations -> number (also read by qa/ingest/headers.py)
    {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
    | {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
    | {"sept": 9}
)
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}  # monday -> 0
NUMBERS = {
    word: i
    for i, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
} | {"a": 1, "an": 1}
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
_WEEKDAY = "|".join(WEEKDAYS)
_COUNT = r"(?P<count>\d{1,3}|" + "|".join(NUMBERS) + ")"
# expressions relative to as_of, each optionally governed by an operator ("since last week")
_RELATIVE = re.compile(
    r"\b(?:(?P<op>before|until|till|by|after|since|from|as of)\s+)?"
    r"(?:(?P<today>today)|(?P<yesterday>yesterday)"
    r"|(?:so far\s+)?(?P<which>this|last|previous|past)\s+(?P<unit>weekend|week|month|year)"
    rf"|(?:(?P<wwhich>on|this|last)\s+)?(?P<weekday>{_WEEKDAY})"
    rf"|(?P<ago>{_COUNT}\s+(?P<aunit>days?|weeks?)\s+ago)"
    rf"|(?:the\s+)?(?:past|last)\s+{_COUNT}\s+(?P<punit>days|weeks))\b",
    re.IGNORECASE,
)
_RECENT = re.compile(
    r"\b(latest|most recent(ly)?|newest|last reported|currently|recently|lately|these days"
    r"|in recent (?:days|weeks|months))\b",
    re.I,
)


def order_key(day: date | None) -> tuple[int, date]:
    """Sort key of article dates: dated oldest first, undated ("date unknown") last."""
    return (1, date.max) if day is None else (0, day)


@dataclass(frozen=True)
class DateFilter:
    """What retrieval may use: articles dated `date_from`..`date_to` (either open), a
    preference for newer articles (`recency`, e.g. "latest", "recently"), and the moment the
    question is asked (`as_of`). Dated articles after `as_of` are excluded unless `date_to`
    replaces it; undated articles are kept unless a range is set."""

    date_from: date | None = None
    date_to: date | None = None
    recency: bool = False
    as_of: date | None = None
    # the days a relative expression with no operator means ("this week", "on Monday"): a
    # preference, not a bound. As a bound it dropped every source article of 20 of the 100
    # answerable RealTime QA validation questions (their background articles are older).
    prefer: tuple[date, date] | None = None

    @property
    def newest(self) -> date | None:
        """The newest article date allowed: `date_to`, else `as_of`."""
        return self.date_to or self.as_of

    @property
    def keeps_undated(self) -> bool:
        """Undated articles count unless the filter sets a date range."""
        return self.date_from is None and self.date_to is None


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


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _count(text: str) -> int:
    return int(text) if text.isdigit() else NUMBERS[text.lower()]


def relative_span(match: re.Match, as_of: date) -> tuple[date, date] | None:
    """The days a relative expression means, asked on `as_of`. Weeks run Monday to Sunday;
    "this week" is Monday up to as_of; a weekend is the one containing as_of, else the last
    one before it ("last weekend" on a Saturday or Sunday is the one before); "on Tuesday" is
    the latest Tuesday on or before as_of, "last Tuesday" the one before as_of."""
    g = {k: (v.lower() if isinstance(v, str) else v) for k, v in match.groupdict().items()}
    monday = as_of - timedelta(days=as_of.weekday())
    if g["today"]:
        return as_of, as_of
    if g["yesterday"]:
        return as_of - timedelta(days=1), as_of - timedelta(days=1)
    if g["weekday"]:
        if not (g["wwhich"] or g["op"]):
            return None  # a bare "Sunday deadline" is not a date of the question
        back = (as_of.weekday() - WEEKDAYS[g["weekday"]]) % 7
        if g["wwhich"] == "last" and back == 0:
            back = 7
        day = as_of - timedelta(days=back)
        return day, day
    if g["ago"]:
        days = _count(g["count"]) * (7 if g["aunit"].startswith("week") else 1)
        return as_of - timedelta(days=days), as_of - timedelta(days=days)
    if g["punit"]:
        days = _count(g["count"]) * (7 if g["punit"] == "weeks" else 1)
        return as_of - timedelta(days=days - 1), as_of
    which, unit = g["which"], g["unit"]
    last = which in {"last", "previous"}
    if which == "past":  # a rolling window ending on as_of
        length = {"week": 7, "weekend": 7, "month": 30, "year": 365}[unit]
        return as_of - timedelta(days=length - 1), as_of
    if unit == "week":
        return (monday - timedelta(days=7), monday - timedelta(days=1)) if last else (monday, as_of)
    if unit == "weekend":
        saturday = monday + timedelta(days=5)
        if as_of < saturday or last:  # a weekday: the weekend just gone; "last": one more
            saturday -= timedelta(days=7)
        return saturday, min(saturday + timedelta(days=1), as_of)
    if unit == "month":
        first = as_of.replace(day=1)
        if last:
            previous = first - timedelta(days=1)
            return previous.replace(day=1), previous
        return first, as_of
    year = as_of.year - 1 if last else as_of.year
    return date(year, 1, 1), (date(year, 12, 31) if last else as_of)


def _apply(
    op: str, span: tuple[date, date], lo: date | None, hi: date | None
) -> tuple[date | None, date | None]:
    """The range after one operator ("in", "before", "since"...) over a span of days."""
    if op in {"in", "during", "on", ""}:
        return span
    if op == "before":
        return lo, span[0] - timedelta(days=1)
    if op in {"until", "till", "by", "as of"}:
        return lo, span[1]
    if op == "after":
        return span[1] + timedelta(days=1), hi
    return span[0], hi  # since, from


def parse_question_dates(
    question: str, reference: date | None = None, as_of: date | None = None
) -> DateFilter:
    """Date constraints stated in a question. `as_of` is when it is asked: relative expressions
    resolve against it, no range ends after it, and it is kept on the filter; `reference`
    resolves dates without a year (the latest such date not after it). Each defaults to the
    other, then to today."""
    when = as_of or reference or date.today()
    reference = reference or when
    found: list[tuple[int, str, tuple[date, date]]] = []
    for match in _PHRASE.finditer(question):
        if span := _span(match, reference):
            found.append((match.start(), match.group("op").lower(), span))
    prefer: tuple[date, date] | None = None
    for match in _RELATIVE.finditer(question):
        if span := relative_span(match, when):
            if match.group("op"):
                found.append((match.start(), match.group("op").lower(), span))
            elif prefer is None:
                prefer = span
    lo: date | None = None
    hi: date | None = None
    for _, op, span in sorted(found, key=lambda f: f[0]):
        lo, hi = _apply(op, span, lo, hi)
    if as_of is not None and hi is not None and hi > as_of:
        hi = as_of  # nothing published after the question was asked
    recency = bool(_RECENT.search(question)) and lo is None and hi is None
    return DateFilter(lo, hi, recency=recency, as_of=as_of, prefer=prefer)
