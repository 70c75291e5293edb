"""qa/ingest/dedupe.py: repeated paragraphs go, real text stays (issue 27, item 8: 5,000 paragraphs
that differ only in their numbers became 2 chunks)."""

from __future__ import annotations

from qa.ingest import cleaning
from qa.ingest.dedupe import NearIndex, dedupe


def _results_table(rows: int) -> list[str]:
    """Election results by district, as a news table reads in text: one template, every row
    its own district number and share of the vote."""
    return [
        f"District {n}: the governing party's candidate won {30 + n % 41} percent of the vote, "
        "the opposition took the rest, and the electoral commission reported a normal turnout."
        for n in range(1, rows + 1)
    ]


def test_a_200_row_results_table_keeps_every_row() -> None:
    rows = _results_table(200)
    assert dedupe(rows) == rows
    assert cleaning.clean_text("\n\n".join(rows)) == "\n\n".join(rows)


def test_paragraphs_differing_only_in_numbers_are_all_kept() -> None:
    """The reproduction of the issue: "Paragraph i … i % 97 percent …", 5,000 of them."""
    paragraphs = [
        f"Paragraph {i} of the price survey reports that bread rose {i % 97} percent in the "
        "capital this quarter, according to the statistics office."
        for i in range(5000)
    ]
    near = NearIndex()
    assert len(dedupe(paragraphs, near)) == 5000
    assert near.comparisons <= 5000 * 10 * 16  # still linear: capped buckets


def test_near_repeats_with_the_same_numbers_still_go() -> None:
    para = "The bridge toll rises to 4.50 euros on 1 March, the harbour board said on Tuesday."
    near = "The bridge toll rises to 4.50 euros on 1 March, the harbour board said late Tuesday."
    other = "The bridge toll rises to 5.00 euros on 1 March, the harbour board said on Tuesday."
    assert dedupe([para, near, other]) == [para, other]
