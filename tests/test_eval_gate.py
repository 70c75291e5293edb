"""Quality gate: the seed gold set through the real model and index, and a RealTime QA sample.

Thresholds are the measured numbers minus a small margin (see README, evaluation section);
raise them as the answer step improves, never lower the gold set to meet them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa.cli import eval_app
from qa.evaluation import Report, check_thresholds, load_gold, run
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
SEED_GOLD = ROOT / "eval/gold/seeds.jsonl"
TIMELINE_GOLD = ROOT / "eval/gold/seeds-timeline.jsonl"
RTQA = ROOT.parent / "shared/data/realtimeqa"

# Measured 2026-12-02 (extractive, hand-weighted, seeds): accuracy 0.735, citation precision 0.953,
# support 1.0, refusal recall 0.579, false refusals 0.103, hybrid recall@5 0.986.
# Measured 2026-12-03 with the learned reader (issue 16, docs/reader.md; trained on SQuAD 2.0
# only, never on this set): accuracy 0.721, short_answer_exact 0.595, citation precision 0.906,
# support 1.0, refusal recall 0.579, false refusals 0.118. The aims are accuracy >= 0.85,
# citation precision >= 0.93, refusal recall >= 0.8, false refusals <= 0.1, short answers >= 0.6:
# not met yet. With the count rule (a number next to the thing counted) on top: accuracy 0.735,
# refusal recall 0.684, false refusals 0.103, citation precision 0.908. The bounds below are the
# measured numbers minus a small margin.
# Retrained 2026-12-04 with the same script and data (SQuAD 2.0 only; the vector cache now holds
# OpenVINO vectors, threshold 0.0843): accuracy 0.750 (seeds-013 no longer falsely refused),
# short_answer_exact 0.595, citation precision 0.909, refusal recall 0.684, false refusals 0.088.
# 2026-12-05, question-type and dateline rules: accuracy 0.765 (gate raised to 0.72),
# short_answer_exact 0.571 = 24/42 (was 22/37: five more typed questions, so the gate moves to
# 0.52 to keep its margin of two questions), the rest unchanged.
# 2026-12-05, countries relabelled GPE: short_answer_exact 0.619 = 26/42, gate 0.57 (24/42).
# (A hard "question names a thing no passage mentions" refusal raised seed refusal recall to
# 0.684 but more than doubled false refusals on the RealTime QA sample, so it was dropped.)
# 2026-12-07, the neural span reader (issue 28), with the learned reader as its fallback where
# it would refuse (chosen on the dev sets: RealTime QA validation weeks + seeds), replaced the
# learned reader as the default. Seeds: answer_contains_gold 0.750 -> 0.588 (40/68),
# first_sentence_accuracy 0.691 -> 0.559, short_answer_exact (now over every answerable question
# with a short gold answer) 0.368 -> 0.324, citation precision 0.894 -> 0.727, refusal recall
# 0.632 -> 0.368, false refusals 0.088 -> 0.074; the learned reader's rules had been written
# against these seeds, and on the unseen RealTime QA test weeks the new default is far ahead
# (docs/reader.md). Bounds: measured minus ~2 questions.
GATE_UNDER = [
    "extractive:answer_contains_gold=0.55",
    "extractive:first_sentence_accuracy=0.52",
    "extractive:short_answer_exact=0.29",
    "extractive:citation_precision=0.68",
    "extractive:citation_support=0.95",
    "extractive:refusal_recall=0.31",
    "retrieval_recall_hybrid=0.95",
]
GATE_OVER = ["extractive:false_refusal_rate=0.11", "extractive:citations_out_of_range=0.0"]

pytestmark = pytest.mark.slow


def _misses(report: Report) -> str:
    lines = []
    for o in report.backends["extractive"].outcomes:
        if o.miss:
            got = "(refused)" if o.refused else o.answer[:100]
            lines.append(f"{o.id}: expected {o.expected or '(refusal)'} got {got}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def engine(seed_index, real_embedder):
    from qa.answer.engine import Engine

    return Engine(seed_index.settings, seed_index, real_embedder)


def test_seed_gold_set_meets_the_gate(engine) -> None:
    report = run(engine, SEED_GOLD, ["extractive"])
    failures = check_thresholds(report, GATE_UNDER, GATE_OVER)
    assert not failures, "\n".join(failures) + "\nmisses:\n" + _misses(report)
    assert report.backends["extractive"].metrics["errors"].count == 0


# Measured 2026-12-04 (issue 18): timeline event recall 0.864 (19/22), order 1.0, every line
# dated by its article, 5/5 detected. The aim: recall >= 0.8, every event dated and ordered.
TIMELINE_UNDER = [
    "extractive:timeline_event_recall=0.8",
    "extractive:timeline_order=1.0",
    "extractive:timeline_events_dated=1.0",
    "extractive:timeline_detected=1.0",
]


def test_seed_timeline_gold_meets_the_gate(engine) -> None:
    report = run(engine, TIMELINE_GOLD, ["extractive"], modes=())
    failures = check_thresholds(report, TIMELINE_UNDER, ["extractive:timeline_refused=0.0"])
    outcomes = report.backends["extractive"].outcomes
    assert not failures, "\n".join(failures + [o.answer for o in outcomes])
    assert report.backends["extractive"].metrics["errors"].count == 0


def test_qa_eval_command_writes_the_report_and_gates(engine, tmp_path: Path) -> None:
    gold = tmp_path / "small.jsonl"
    lines = SEED_GOLD.read_text().splitlines()
    picked = [ln for ln in lines if json.loads(ln)["id"] in ("seeds-036", "seeds-050", "seeds-069")]
    gold.write_text("\n".join(picked) + "\n")
    settings = engine.settings
    common = ["--gold", str(gold), "--backend", "extractive", "--corpus", str(settings.corpus_dir),
              "--index-dir", str(settings.index_dir)]  # fmt: skip
    runner = CliRunner()
    first = runner.invoke(eval_app, [*common, "--out", str(tmp_path / "one")])
    assert first.exit_code == 0, first.output
    assert {p.name for p in (tmp_path / "one").iterdir()} == {
        "report.json",
        "report.md",
        "chart.png",
    }
    assert "answer_contains_gold" in first.output and "recall@5" in first.output

    second = runner.invoke(
        eval_app,
        [*common, "--out", str(tmp_path / "two"), "--against", str(tmp_path / "one/report.json"),
         "--fail-under", "answer_contains_gold=1.01"],
    )  # fmt: skip
    assert second.exit_code == 1
    assert "FAIL extractive:answer_contains_gold" in second.output
    assert "Changes are against" in (tmp_path / "two/report.md").read_text()


@pytest.mark.skipif(not RTQA.exists(), reason="RealTime QA data not present (../shared/data)")
def test_realtimeqa_sample_end_to_end(real_embedder, tmp_path: Path) -> None:
    from qa.answer.engine import Engine
    from qa.evaluation.realtimeqa import prepare
    from qa.ingest.index import Index

    summary = prepare(RTQA, tmp_path / "rtqa", sample=20, seed=7)
    assert summary["questions"] == 20
    settings = make_settings(tmp_path, corpus=tmp_path / "rtqa/corpus")
    index = Index(settings, real_embedder)
    index.ingest()
    report = run(
        Engine(settings, index, real_embedder), tmp_path / "rtqa/gold.jsonl", ["extractive"]
    )
    gold = load_gold(tmp_path / "rtqa/gold.jsonl")
    assert report.questions == len(gold) == 20
    extractive = report.backends["extractive"]
    assert extractive.metrics["errors"].count == 0
    # asked "as of" the question date: nothing published later is ever cited
    assert extractive.metrics["citations_out_of_range"].count == 0
    for mode in ("hybrid", "dense", "lexical"):
        assert (report.retrieval[mode].recall.value or 0) > 0.3, mode
