"""Evaluation against gold questions: `gold` (the format), `metrics` (pure scoring),
`runner` (asks the engine), `report` (tables, Markdown, chart, thresholds), `realtimeqa`
(the RealTime QA conversion). `qa eval` is in qa/cli/evaluate.py."""

from qa.evaluation.answers import contains, is_correct, normalize, token_f1
from qa.evaluation.gold import GoldItem, load_gold
from qa.evaluation.metrics import (
    LOWER_IS_BETTER,
    Metric,
    Outcome,
    latency,
    markers,
    score,
    split_sentences,
    summarize,
)
from qa.evaluation.retrieval import in_range, needed, reciprocal_rank, source_hits
from qa.evaluation.runner import (
    MODES,
    BackendReport,
    EvalEngine,
    Report,
    RetrievalReport,
    check_thresholds,
    deltas,
    evaluate_backend,
    evaluate_retrieval,
    parse_threshold,
    run,
)

__all__ = [
    "LOWER_IS_BETTER",
    "MODES",
    "BackendReport",
    "EvalEngine",
    "GoldItem",
    "Metric",
    "Outcome",
    "Report",
    "RetrievalReport",
    "check_thresholds",
    "contains",
    "deltas",
    "evaluate_backend",
    "evaluate_retrieval",
    "in_range",
    "is_correct",
    "latency",
    "load_gold",
    "markers",
    "needed",
    "normalize",
    "parse_threshold",
    "reciprocal_rank",
    "run",
    "score",
    "source_hits",
    "split_sentences",
    "summarize",
    "token_f1",
]
