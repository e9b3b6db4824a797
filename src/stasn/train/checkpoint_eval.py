"""Scoring a cache's dev and test splits with a checkpoint, and the report with RAM-region pictures.

Used at the end of ``stasn train`` and by ``stasn evaluate --checkpoint ... --cache ...``. The threshold is fixed on
the dev scores (the checkpoint's criterion) and applied unchanged to test. Videos where no face was found in any
sampled frame are scored as non-responses (status ``no_face``), never dropped.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from stasn.data.clips import ClipDataset
from stasn.data.manifest import read_cache_info
from stasn.errors import DataError
from stasn.evaluate.evaluation import EvaluationResult, evaluate_scores
from stasn.evaluate.report import write_report
from stasn.evaluate.scores import ScoreRow, write_scores
from stasn.model.checkpoint import load_checkpoint
from stasn.model.stasn import STASN
from stasn.train.scoring import score_rows_from_batch

__all__ = ["EvaluationOutcome", "RegionExample", "score_split", "evaluate_checkpoint", "region_figure", "pick_device"]

log = logging.getLogger(__name__)


@dataclass
class RegionExample:
    """One clip's first high-res frame with what RAM chose, for the report."""

    image: np.ndarray  # (H, W, 3) uint8
    boxes: np.ndarray  # (K, 4) high-res pixels
    attention: np.ndarray  # (h, w) in [0, 1]
    spoof_score: float
    label: int
    attack_type: str
    video_id: str


@dataclass
class EvaluationOutcome:
    threshold: float
    result: EvaluationResult
    test_metrics: dict[str, Any]
    report_dir: Path
    scores_dir: Path


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@torch.inference_mode()
def score_split(
    model: STASN,
    dataset: ClipDataset,
    *,
    batch_size: int = 8,
    num_workers: int = 0,
    device: torch.device | None = None,
    examples: int = 0,
) -> tuple[list[ScoreRow], list[RegionExample]]:
    """Score every clip of ``dataset`` (plus a ``no_face`` row per video without a usable frame).

    Returns:
        ``(rows, examples)``: one :class:`ScoreRow` per clip, and up to ``examples`` region pictures per class.
    """
    device = device or torch.device("cpu")
    model = model.to(device).eval()
    rows: list[ScoreRow] = []
    picked: list[RegionExample] = []
    per_class = {0: 0, 1: 0}
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    for batch in loader:
        with torch.no_grad():  # repeated frames (still images, stretched videos) run once
            output = model(batch["clips"].to(device), batch["highres"].to(device), dedupe=True)
        rows.extend(score_rows_from_batch(batch, output))
        for i, label in enumerate(batch["label"].tolist()):
            if per_class[label] < examples:
                per_class[label] += 1
                frame = (batch["highres"][i, 0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                picked.append(
                    RegionExample(
                        frame,
                        output.boxes[i, 0].float().cpu().numpy(),
                        output.attention[i, 0].float().cpu().numpy(),
                        float(output.spoof_score[i]),
                        label,
                        batch["attack_type"][i],
                        batch["video_id"][i],
                    )
                )
    for failure in dataset.failures:
        rows.append(
            ScoreRow(
                sample_id=f"{failure.video_id}@none",
                video_id=failure.video_id,
                label=failure.label,
                attack_type=failure.attack_type,
                spoof_score=math.nan,
                frame_index=-1,
                status="no_face",
            )
        )
    return rows, picked


def region_figure(examples: list[RegionExample], *, threshold: float | None = None):
    """A matplotlib figure: each clip's first high-res frame, RAM's attention as a heat overlay, the K regions boxed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    cols = max(1, min(4, len(examples)))
    rows = max(1, math.ceil(len(examples) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, ex in zip(axes.flat, examples, strict=False):
        h, w = ex.image.shape[:2]
        ax.imshow(ex.image)
        ax.imshow(ex.attention, cmap="jet", alpha=0.25, extent=(0, w, h, 0), interpolation="bilinear")
        for k, (x1, y1, x2, y2) in enumerate(ex.boxes):
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="yellow", linewidth=1.5))
            ax.text(x1 + 2, y1 + 10, str(k + 1), color="yellow", fontsize=8)
        verdict = ""
        if threshold is not None:
            verdict = " -> attack" if ex.spoof_score >= threshold else " -> live"
        ax.set_title(f"{ex.attack_type}: score {ex.spoof_score:.3f}{verdict}", fontsize=9)
    fig.suptitle("RAM regions (yellow, numbered by pick order) and attention (heat) on the first frame", fontsize=10)
    fig.tight_layout()
    return fig


def evaluate_checkpoint(
    checkpoint: str | Path,
    *,
    cache: str | Path,
    out_dir: str | Path,
    batch_size: int = 8,
    num_workers: int = 0,
    clips_per_video: int = 2,
    criterion: str | None = None,
    protocol: str | None = None,
    title: str = "stasn",
    device: str = "auto",
    examples_per_class: int = 4,
) -> EvaluationOutcome:
    """Score dev and test of ``cache`` with ``checkpoint``; write ``scores/{dev,test}.csv`` and ``report/``.

    Args:
        criterion: dev-threshold rule; default the checkpoint's (``eer`` when it has none).
        protocol: a known protocol name (e.g. ``oulu-npu-p1``) to put the paper's numbers beside ours.

    Raises:
        DataError: the cache's crop sizes do not match the model, or a split has no usable clip.
    """
    loaded = load_checkpoint(checkpoint)
    cfg = loaded.config
    info = read_cache_info(cache)
    if (info.face_size, info.highres_size) != (cfg.input_size, cfg.highres_size):
        raise DataError(
            f"{cache}: crops are {info.face_size}/{info.highres_size} px, the checkpoint's model expects "
            f"{cfg.input_size}/{cfg.highres_size}; prepare the cache with those sizes"
        )
    dev_device = pick_device(device)
    out_dir = Path(out_dir)
    rows: dict[str, list[ScoreRow]] = {}
    examples: list[RegionExample] = []
    for split in ("dev", "test"):
        dataset = ClipDataset(cache, split, cfg.num_frames, clips_per_video=clips_per_video)
        if len(dataset) == 0 and not dataset.failures:
            raise DataError(f"{cache}: no {split} clips to score")
        rows[split], picked = score_split(
            loaded.model,
            dataset,
            batch_size=batch_size,
            num_workers=num_workers,
            device=dev_device,
            examples=examples_per_class if split == "test" else 0,
        )
        examples += picked
        write_scores(rows[split], out_dir / "scores" / f"{split}.csv")
    result = evaluate_scores(rows["dev"], rows["test"], criterion or loaded.threshold_criterion or "eer")
    figures = [("RAM regions on test faces", region_figure(examples, threshold=result.threshold))] if examples else []
    files = write_report(
        result,
        out_dir / "report",
        protocol=protocol,
        extra_figures=figures,
        title=f"{title}: test at the dev threshold",
    )
    log.info("report: %s", files.html)
    return EvaluationOutcome(result.threshold, result, result.to_dict(), out_dir / "report", out_dir / "scores")
