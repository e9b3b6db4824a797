"""ISO/IEC 30107-3 evaluation: metrics, score files, the dev -> test protocol and reports.

Polarity: ``spoof_score`` is higher for attacks; ``score >= threshold`` is classified as an attack. Thresholds are
chosen on dev and frozen for test; numbers fitted on the test set itself carry "oracle" in their name.

Typical use (what ``stasn evaluate`` does)::

    from stasn.evaluate import evaluate_scores, read_scores, write_report

    result = evaluate_scores(read_scores("scores-dev.csv"), read_scores("scores-test.csv"), criterion="eer")
    write_report(result, "report/", protocol="oulu-npu-p1", extra_figures=[("attention regions", png_bytes)])

``stasn.evaluate.report`` imports matplotlib only when a report is drawn.
"""

from stasn.evaluate.aggregate import AGGREGATES, aggregate_videos
from stasn.evaluate.evaluation import (
    CRITERIA,
    CurveSummary,
    ErrorRates,
    EvaluationResult,
    FoldSummary,
    ScoreSet,
    evaluate_scores,
    summarize_folds,
)
from stasn.evaluate.report import ReportFiles, write_folds_report, write_report
from stasn.evaluate.scores import ScoreRow, read_scores, write_scores

__all__ = [
    "AGGREGATES",
    "CRITERIA",
    "CurveSummary",
    "ErrorRates",
    "EvaluationResult",
    "FoldSummary",
    "ReportFiles",
    "ScoreRow",
    "ScoreSet",
    "aggregate_videos",
    "evaluate_scores",
    "read_scores",
    "summarize_folds",
    "write_folds_report",
    "write_report",
    "write_scores",
]
