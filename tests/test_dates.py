"""Dates stated in questions become date filters or a recency ordering (qa/search/dates.py)."""

from __future__ import annotations

from datetime import date

import pytest

from qa.search.dates import DateFilter, parse_question_dates

REF = date(2023, 11, 11)  # the newest seed article


@pytest.mark.parametrize(
    ("question", "date_from", "date_to"),
    [
        ("What happened in August 2023?", date(2023, 8, 1), date(2023, 8, 31)),
        ("What did ECOWAS decide during September 2023?", date(2023, 9, 1), date(2023, 9, 30)),
        ("Who visited Mali before November 2023?", None, date(2023, 10, 31)),
        ("What happened after Aug 2023?", date(2023, 9, 1), None),
        ("What did Algeria say on August 6, 2023?", date(2023, 8, 6), date(2023, 8, 6)),
        ("What did Algeria say on 6 August 2023?", date(2023, 8, 6), date(2023, 8, 6)),
        ("What happened after August 6th, 2023?", date(2023, 8, 7), None),
        ("What was reported on 2023-11-10?", date(2023, 11, 10), date(2023, 11, 10)),
        ("What was reported since 2023-11-08?", date(2023, 11, 8), None),
        ("What was reported before 2023-11-10?", None, date(2023, 11, 9)),
        ("What was known until 10 November 2023?", None, date(2023, 11, 10)),
        ("Which troops were there by August 2023?", None, date(2023, 8, 31)),
        ("As of November 2023, how many troops?", None, date(2023, 11, 30)),
        ("What happened in Sept. 2023?", date(2023, 9, 1), date(2023, 9, 30)),
        ("What happened in 2023?", date(2023, 1, 1), date(2023, 12, 31)),
    ],
)
def test_explicit_dates_become_a_range(
    question: str, date_from: date | None, date_to: date | None
) -> None:
    assert parse_question_dates(question, REF) == DateFilter(date_from, date_to)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (date(2023, 11, 11), date(2023, 11, 10)),  # this year's 10 November has passed
        (date(2023, 11, 10), date(2023, 11, 10)),  # the reference day itself counts
        (date(2023, 11, 5), date(2022, 11, 10)),  # not yet: last year's
        (date(2023, 8, 6), date(2022, 11, 10)),
    ],
)
def test_a_date_without_year_is_the_latest_one_not_after_the_reference(
    reference: date, expected: date
) -> None:
    assert parse_question_dates("What happened since 10 November?", reference) == DateFilter(
        expected, None
    )


def test_a_month_without_year_resolves_against_the_reference() -> None:
    assert parse_question_dates("What happened in July?", REF) == DateFilter(
        date(2023, 7, 1), date(2023, 7, 31)
    )
    assert parse_question_dates("What happened in December?", REF) == DateFilter(
        date(2022, 12, 1), date(2022, 12, 31)
    )


@pytest.mark.parametrize(
    "question",
    [
        "What is the latest on the Wagner request?",
        "What is the most recent report about US troops?",
        "Which article is the newest?",
    ],
)
def test_latest_means_recency_not_a_range(question: str) -> None:
    assert parse_question_dates(question, REF) == DateFilter(recency=True)


def test_an_explicit_range_wins_over_recency() -> None:
    found = parse_question_dates("What was the latest news in August 2023?", REF)
    assert found == DateFilter(date(2023, 8, 1), date(2023, 8, 31), recency=False)


@pytest.mark.parametrize(
    "question",
    [
        "Which general visited Mali to meet Wagner?",
        "How many US troops are in Niger?",
        "Who won the 2022 World Cup?",  # a year that is not governed by in/before/after...
        "France has 1,500 soldiers in Niger",
        "Was the Sunday deadline extended?",  # a weekday that is not a date of the question
        "What did the junta say about the weekend curfew?",
    ],
)
def test_plain_questions_have_no_filter(question: str) -> None:
    assert parse_question_dates(question, REF) == DateFilter()


@pytest.mark.parametrize(
    "question",
    [
        "What happened on 31 February 2023?",
        "What happened on 2023-02-30?",
        "What happened on 2023-13-01?",
        "What happened on Feb 29, 2023?",
        "What happened on 45 August 2023?",
    ],
)
def test_impossible_dates_are_ignored(question: str) -> None:
    assert parse_question_dates(question, REF) == DateFilter()


def test_an_impossible_date_does_not_hide_a_valid_one() -> None:
    found = parse_question_dates("What happened on 31 February 2023 or after August 2023?", REF)
    assert found == DateFilter(date(2023, 9, 1), None)


def test_two_bounds_in_one_question() -> None:
    found = parse_question_dates("What happened after July 2023 and before November 2023?", REF)
    assert found == DateFilter(date(2023, 8, 1), date(2023, 10, 31))


def test_reference_defaults_to_today() -> None:
    today = date.today()
    found = parse_question_dates(f"What happened since {today.day} {today:%B}?")
    assert found == DateFilter(today, None)


# -- relative to the moment asked (as_of) ------------------------------------------------------

MONDAY = date(2023, 11, 13)
SUNDAY = date(2023, 11, 12)
FIRST = date(2023, 11, 1)  # a Wednesday
NEW_YEAR = date(2024, 1, 1)  # a Monday
D = date


def resolved(question: str, as_of: date) -> tuple[date | None, date | None]:
    """The hard range of an expression with an operator ("since last week"), else the
    preferred days of a plain one ("this week"), which never bound retrieval."""
    found = parse_question_dates(question, as_of=as_of)
    assert found.as_of == as_of
    if found.prefer is not None:
        assert (found.date_from, found.date_to) == (None, None)
        return found.prefer
    return found.date_from, found.date_to


@pytest.mark.parametrize(
    ("question", "as_of", "expected"),
    [
        # this week: Monday up to as_of
        ("What happened this week?", MONDAY, (MONDAY, MONDAY)),
        ("What happened this week?", SUNDAY, (D(2023, 11, 6), SUNDAY)),
        ("What happened this week?", FIRST, (D(2023, 10, 30), FIRST)),
        ("What happened this week?", NEW_YEAR, (NEW_YEAR, NEW_YEAR)),
        # last week: the Monday-to-Sunday week before
        ("What happened last week?", MONDAY, (D(2023, 11, 6), SUNDAY)),
        ("What happened last week?", SUNDAY, (D(2023, 10, 30), D(2023, 11, 5))),
        ("What happened last week?", FIRST, (D(2023, 10, 23), D(2023, 10, 29))),
        ("What happened last week?", NEW_YEAR, (D(2023, 12, 25), D(2023, 12, 31))),
        # this weekend: the one holding as_of, else the one just gone
        ("What happened this weekend?", MONDAY, (D(2023, 11, 11), SUNDAY)),
        ("What happened this weekend?", SUNDAY, (D(2023, 11, 11), SUNDAY)),
        ("What happened this weekend?", FIRST, (D(2023, 10, 28), D(2023, 10, 29))),
        ("What happened this weekend?", NEW_YEAR, (D(2023, 12, 30), D(2023, 12, 31))),
        # last weekend: on a weekday the one just gone; on a weekend day the one before
        ("What happened last weekend?", MONDAY, (D(2023, 11, 11), SUNDAY)),
        ("What happened last weekend?", SUNDAY, (D(2023, 11, 4), D(2023, 11, 5))),
        ("What happened last weekend?", FIRST, (D(2023, 10, 28), D(2023, 10, 29))),
        ("What happened last weekend?", NEW_YEAR, (D(2023, 12, 30), D(2023, 12, 31))),
        # on <weekday>: the latest such day on or before as_of
        ("What did ECOWAS say on Tuesday?", MONDAY, (D(2023, 11, 7), D(2023, 11, 7))),
        ("What did ECOWAS say on Sunday?", SUNDAY, (SUNDAY, SUNDAY)),
        ("What did ECOWAS say on Monday?", SUNDAY, (D(2023, 11, 6), D(2023, 11, 6))),
        ("What did ECOWAS say on Wednesday?", FIRST, (FIRST, FIRST)),
        ("What did ECOWAS say on Friday?", NEW_YEAR, (D(2023, 12, 29), D(2023, 12, 29))),
        ("What did ECOWAS say last Monday?", MONDAY, (D(2023, 11, 6), D(2023, 11, 6))),
        ("What has ECOWAS said since Thursday?", SUNDAY, (D(2023, 11, 9), None)),
        # yesterday, today
        ("What happened yesterday?", MONDAY, (SUNDAY, SUNDAY)),
        ("What happened yesterday?", SUNDAY, (D(2023, 11, 11), D(2023, 11, 11))),
        ("What happened yesterday?", FIRST, (D(2023, 10, 31), D(2023, 10, 31))),
        ("What happened yesterday?", NEW_YEAR, (D(2023, 12, 31), D(2023, 12, 31))),
        ("What happened today?", MONDAY, (MONDAY, MONDAY)),
        ("What happened today?", NEW_YEAR, (NEW_YEAR, NEW_YEAR)),
        # last month, this month
        ("What happened last month?", MONDAY, (D(2023, 10, 1), D(2023, 10, 31))),
        ("What happened last month?", SUNDAY, (D(2023, 10, 1), D(2023, 10, 31))),
        ("What happened last month?", FIRST, (D(2023, 10, 1), D(2023, 10, 31))),
        ("What happened last month?", NEW_YEAR, (D(2023, 12, 1), D(2023, 12, 31))),
        ("What happened this month?", FIRST, (FIRST, FIRST)),
        # last year, this year, so far this year
        ("What happened last year?", MONDAY, (D(2022, 1, 1), D(2022, 12, 31))),
        ("What happened last year?", NEW_YEAR, (D(2023, 1, 1), D(2023, 12, 31))),
        ("What happened this year?", SUNDAY, (D(2023, 1, 1), SUNDAY)),
        ("What happened this year?", FIRST, (D(2023, 1, 1), FIRST)),
        ("How many coups so far this year?", NEW_YEAR, (NEW_YEAR, NEW_YEAR)),
        ("How many coups so far this year?", MONDAY, (D(2023, 1, 1), MONDAY)),
        # N days ago, the past N days
        ("What happened 3 days ago?", MONDAY, (D(2023, 11, 10), D(2023, 11, 10))),
        ("What happened two days ago?", SUNDAY, (D(2023, 11, 10), D(2023, 11, 10))),
        ("What happened 1 day ago?", FIRST, (D(2023, 10, 31), D(2023, 10, 31))),
        ("What happened 10 days ago?", NEW_YEAR, (D(2023, 12, 22), D(2023, 12, 22))),
        ("What happened a week ago?", MONDAY, (D(2023, 11, 6), D(2023, 11, 6))),
        ("What happened in the past 7 days?", NEW_YEAR, (D(2023, 12, 26), NEW_YEAR)),
        # with an operator
        ("What has happened since last week?", MONDAY, (D(2023, 11, 6), None)),
        ("What happened before yesterday?", FIRST, (None, D(2023, 10, 30))),
    ],
)
def test_relative_expressions_resolve_against_as_of(
    question: str, as_of: date, expected: tuple[date | None, date | None]
) -> None:
    assert resolved(question, as_of) == expected


@pytest.mark.parametrize("as_of", [MONDAY, SUNDAY, FIRST, NEW_YEAR])
@pytest.mark.parametrize(
    "question",
    [
        "What has Niger's junta done recently?",
        "What did ECOWAS say lately?",
        "What is the latest on the Wagner request?",
    ],
)
def test_recently_is_a_preference_not_a_range(question: str, as_of: date) -> None:
    assert parse_question_dates(question, as_of=as_of) == DateFilter(recency=True, as_of=as_of)


def test_no_range_ends_after_as_of() -> None:
    found = parse_question_dates("What happened in November 2023?", as_of=FIRST)
    assert (found.date_from, found.date_to) == (FIRST, FIRST)
    found = parse_question_dates("What happened in 2023?", as_of=SUNDAY)
    assert (found.date_from, found.date_to) == (D(2023, 1, 1), SUNDAY)


def test_a_date_without_year_reads_against_the_reference_relative_ones_against_as_of() -> None:
    # a 2023 corpus asked today: "in July" is the corpus's July, "last week" is today's
    found = parse_question_dates("What happened in July?", D(2023, 11, 11), as_of=NEW_YEAR)
    assert (found.date_from, found.date_to) == (D(2023, 7, 1), D(2023, 7, 31))
    found = parse_question_dates("What happened last week?", D(2023, 11, 11), as_of=NEW_YEAR)
    assert found.prefer == (D(2023, 12, 25), D(2023, 12, 31))


def test_without_as_of_the_filter_holds_none_and_relative_dates_use_the_reference() -> None:
    found = parse_question_dates("What happened yesterday?", MONDAY)
    assert found == DateFilter(prefer=(SUNDAY, SUNDAY))
    found = parse_question_dates("What happened since yesterday?", MONDAY)
    assert found == DateFilter(SUNDAY, None)


def test_the_filter_bounds_dated_articles_by_as_of_unless_date_to_replaces_it() -> None:
    moment = DateFilter(as_of=SUNDAY)
    assert (moment.newest, moment.keeps_undated) == (SUNDAY, True)
    ranged = DateFilter(D(2023, 8, 1), D(2023, 12, 31), as_of=SUNDAY)
    assert (ranged.newest, ranged.keeps_undated) == (D(2023, 12, 31), False)
    assert (DateFilter().newest, DateFilter().keeps_undated) == (None, True)
