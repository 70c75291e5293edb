"""The evaluation report: report.json, a Markdown report with the misses, and a PNG bar chart."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt
import numpy as np
from rich.console import Console
from rich.table import Table

from qa.evaluation.metrics import LOWER_IS_BETTER, Metric
from qa.evaluation.runner import Report, deltas

CHARTED = (
    "first_sentence_accuracy",
    "short_answer_exact",
    "citation_precision",
    "citation_recall",
    "citation_support",
    "refusal_recall",
    "false_refusal_rate",
)


def _delta(change: dict[str, float] | None, key: str) -> str:
    if change is None or key not in change or abs(change[key]) < 5e-4:
        return ""
    better = (change[key] < 0) == (key.split(":", 1)[-1] in LOWER_IS_BETTER)
    return f" ({change[key]:+.3f}{' ✓' if better else ' ✗'})"


def _cell(metric: Metric, change: dict[str, float] | None, key: str) -> str:
    return metric.show() + _delta(change, key)


def metric_rows(report: Report, earlier: Report | None = None) -> list[list[str]]:
    """Header plus one row per metric, one column per backend; deltas vs `earlier`."""
    change = deltas(report, earlier) if earlier else None
    backends = list(report.backends)
    rows = [["metric", *backends]]
    names = list(next(iter(report.backends.values())).metrics) if backends else []
    for name in names:
        rows.append(
            [name]
            + [_cell(report.backends[b].metrics[name], change, f"{b}:{name}") for b in backends]
        )
    phases = dict.fromkeys(p for b in backends for p in report.backends[b].latency_ms)
    for phase in phases:
        cells = []
        for b in backends:
            p = report.backends[b].latency_ms.get(phase)
            cells.append(f"{p['p50']:.0f} / {p['p95']:.0f}" if p else "")
        rows.append([f"latency {phase} ms p50 / p95", *cells])
    return rows


def retrieval_rows(report: Report, earlier: Report | None = None) -> list[list[str]]:
    change = deltas(report, earlier) if earlier else None
    rows = [["mode", f"recall@{report.recall_k}", f"MRR@{report.recall_k}"]]
    for mode, r in report.retrieval.items():
        rows.append(
            [
                mode,
                _cell(r.recall, change, f"retrieval_recall_{mode}"),
                _cell(r.mrr, change, f"retrieval_mrr_{mode}"),
            ]
        )
    return rows


def _md_table(rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(c) for c in rows[0]) + " |"]
    lines.append("|" + "---|" * len(rows[0]))
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def misses_table(report: Report, backend: str) -> str:
    """Wrong answers, false refusals and answered unanswerable questions of one backend."""
    rows = [["id", "question", "expected", "got", "cited"]]
    for o in report.backends[backend].outcomes:
        if not o.miss:
            continue
        expected = " + ".join(o.expected) if o.answerable else "(refusal)"
        got = o.error or ("(refused)" if o.refused else _short(o.answer))
        question = _short(o.question, 100)
        if o.condensed and o.condensed != o.question:  # a follow-up: what it was condensed to
            question += f" → {_short(o.condensed, 100)}"
        rows.append([o.id, question, _short(expected, 80), got, ", ".join(o.cited)])
    if len(rows) == 1:
        return "No misses."
    return _md_table(rows)


def render_markdown(report: Report, earlier: Report | None = None) -> str:
    parts = [
        f"# Evaluation report, {report.created}",
        "",
        f"Gold: `{report.gold}`: {report.questions} questions, {report.answerable} answerable; "
        f"{report.top_k} passages per answer; retrieval metrics at k={report.recall_k}.",
    ]
    if earlier:
        parts.append(f"Changes are against the run of {earlier.created} (✓ better, ✗ worse).")
    parts += [
        "",
        "![metrics per backend](chart.png)",
        "",
        "## Answers, citations, refusals",
        "",
        "Ratios show (count/total); means show (n=questions).",
        "",
        _md_table(metric_rows(report, earlier)),
        "",
        "## Retrieval (gold sources among the retrieved passages)",
        "",
        _md_table(retrieval_rows(report, earlier)),
        "",
        "## Settings",
        "",
        _md_table([["setting", "value"], *[[k, v] for k, v in report.settings.items()]]),
    ]
    for backend in report.backends:
        parts += ["", f"## Misses: {backend}", "", misses_table(report, backend)]
    return "\n".join(parts) + "\n"


def write_chart(report: Report, path: Path) -> None:
    """Grouped bars: answer metrics per backend, and retrieval recall/MRR per mode."""
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 1.3]}
    )
    backends = list(report.backends)
    x = np.arange(len(CHARTED))
    width = 0.8 / max(len(backends), 1)
    for i, backend in enumerate(backends):
        metrics = report.backends[backend].metrics
        values = [(m.value if (m := metrics.get(name)) else None) or 0.0 for name in CHARTED]
        bars = left.bar(x + (i - (len(backends) - 1) / 2) * width, values, width, label=backend)
        left.bar_label(bars, fmt="%.2f", fontsize=7)
    left.set_xticks(x, [n.replace("_", "\n") for n in CHARTED], fontsize=8)
    left.set_ylim(0, 1.1)
    left.set_title("Answers by backend (false refusals: lower is better)")
    if backends:
        left.legend(fontsize=8, loc="upper right")
    modes = list(report.retrieval)
    xm = np.arange(len(modes))
    for j, (label, attr) in enumerate(
        ((f"recall@{report.recall_k}", "recall"), (f"MRR@{report.recall_k}", "mrr"))
    ):
        values = [getattr(report.retrieval[m], attr).value or 0.0 for m in modes]
        bars = right.bar(xm + (j - 0.5) * 0.38, values, 0.38, label=label)
        right.bar_label(bars, fmt="%.2f", fontsize=7)
    right.set_xticks(xm, modes, fontsize=8)
    right.set_ylim(0, 1.1)
    right.set_title("Retrieval of gold sources")
    right.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{Path(report.gold).name}: {report.questions} questions", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: Report, folder: Path, earlier: Report | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(report, earlier), encoding="utf-8")
    write_chart(report, folder / "chart.png")


def console_table(report: Report, earlier: Report | None = None) -> None:
    """Print the metric and retrieval tables: rich on a terminal, Markdown in logs."""
    console = Console()
    for rows, title in (
        (metric_rows(report, earlier), "answers"),
        (retrieval_rows(report, earlier), "retrieval"),
    ):
        if not console.is_terminal:
            print(f"{title}\n{_md_table(rows)}\n")
            continue
        table = Table(title=title)
        for header in rows[0]:
            table.add_column(header, no_wrap=True)
        for row in rows[1:]:
            table.add_row(*row)
        console.print(table)
