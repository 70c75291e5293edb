"""The Markdown report, the chart and report.json, from a hand-made evaluation."""

from __future__ import annotations

from pathlib import Path

from qa.evaluation import (
    BackendReport,
    GoldItem,
    Metric,
    Report,
    RetrievalReport,
    latency,
    score,
    summarize,
)
from qa.evaluation.report import metric_rows, render_markdown, write_report
from qa.schema import Answer, Citation


def _answer(text: str, source: str | None = None, refused: bool = False) -> Answer:
    citations = (
        [
            Citation(
                n=1, source=source, date=None, title=None, chunk_id="c", start=0, end=1, quote="q"
            )
        ]
        if source
        else []
    )
    return Answer(answer=text, refused=refused, citations=citations, backend="b",
                  timings_ms={"retrieve": 4.0})  # fmt: skip


def _report(accuracy_hit: bool) -> Report:
    gold = GoldItem(
        id="q1", question="Who leads the CRR?", answers=["Ag Boula"], sources=["000.txt"]
    )
    unanswerable = GoldItem(id="q2", question="Population of Niger?", answerable=False)
    got = "Rhissa Ag Boula leads it [1]." if accuracy_hit else "The CRR supports ECOWAS [1]."
    outcomes = [
        score(gold, _answer(got, "000.txt"), lambda s, e: True, {}),
        score(
            unanswerable,
            _answer("Niger's population rallied [1].", "002.txt"),
            lambda s, e: True,
            {},
        ),
    ]
    backend = BackendReport(
        metrics=summarize(outcomes), latency_ms=latency(outcomes), outcomes=outcomes
    )
    return Report(
        created="2026-01-01T00:00:00",
        gold="eval/gold/seeds.jsonl",
        questions=2,
        answerable=1,
        top_k=5,
        retrieval={
            "hybrid": RetrievalReport(
                recall=Metric(value=1.0, count=1, total=1),
                mrr=Metric(value=0.5, count=0.5, total=1, kind="mean"),
            )
        },
        backends={"extractive": backend, "llamacpp": backend},
    )


def test_markdown_has_metrics_misses_and_deltas() -> None:
    text = render_markdown(_report(False), earlier=_report(True))
    assert "| answer_contains_gold | 0.000 (0/1) (-1.000 ✗) | 0.000 (0/1) (-1.000 ✗) |" in text
    assert "| hybrid | 1.000 (1/1) | 0.500 (n=1) |" in text
    assert "## Misses: llamacpp" in text
    assert "| q1 | Who leads the CRR? | Ag Boula | The CRR supports ECOWAS [1]. | 000.txt |" in text
    assert (
        "| q2 | Population of Niger? | (refusal) | Niger's population rallied [1]. | 002.txt |"
        in text
    )
    assert "![metrics per backend](chart.png)" in text


def test_latency_rows_show_each_phase() -> None:
    rows = metric_rows(_report(True))
    assert rows[0] == ["metric", "extractive", "llamacpp"]
    assert ["latency retrieve ms p50 / p95", "4 / 4", "4 / 4"] in rows


def test_write_report_files(tmp_path: Path) -> None:
    write_report(_report(True), tmp_path / "out")
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert files == {"report.json", "report.md", "chart.png"}
    assert (tmp_path / "out/chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = Report.model_validate_json((tmp_path / "out/report.json").read_text())
    assert again.backends["extractive"].metrics["answer_contains_gold"].value == 1.0
    assert "No misses." not in (tmp_path / "out/report.md").read_text()
