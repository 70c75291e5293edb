"""Dates stated in questions become date filters or a recency ordering (qa/dates.py)."""

from __future__ import annotations

from datetime import date

import pytest

from qa.dates import DateFilter, parse_question_dates

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
        "Did the junta meet in Niamey on Friday?",
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
