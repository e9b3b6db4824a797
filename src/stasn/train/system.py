"""The Lightning system around a plain :class:`~stasn.model.STASN`: losses, dev metrics, the dev threshold.

Batches are dicts from :class:`stasn.data.clips.ClipDataset`: ``clips`` ``Tensor[B, T, 3, S, S]``, ``highres``
``Tensor[B, T, 3, H, H]`` (RGB in [0, 1]), ``label`` ``Tensor[B]`` (0 live, 1 spoof) and metadata lists
(``video_id``, ``sample_id``, ``attack_type``, ``subject``, ...).

Every validation epoch scores the dev clips, averages them per video, fixes the threshold on dev (``criterion``) and
logs ``dev/acer``, ``dev/eer``, ``dev/auc``; the threshold is stored in every checkpoint (``checkpoint["stasn"]``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import lightning as L
import torch

from stasn.data.manifest import CacheInfo
from stasn.evaluate.scores import ScoreRow
from stasn.model.checkpoint import stasn_metadata
from stasn.model.config import STASNConfig
from stasn.model.stasn import STASN
from stasn.train.scoring import dev_summary, score_rows_from_batch

__all__ = ["STASNSystem"]


class STASNSystem(L.LightningModule):
    """Training logic for STASN.

    Args:
        model_config: :class:`STASNConfig` as a dict (stored in checkpoints).
        cache_info: how the face crops were made (stored in checkpoints so the predictor crops alike).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear warm-up steps, then cosine decay over the run.
        criterion: how the dev threshold is chosen (``eer`` | ``bpcer20`` | ``bpcer10`` | ``bpcer100``).
        channels_last: run the backbones in channels_last memory format.
        compile: ``torch.compile`` the two backbones.
        dedupe_frames: in training steps, run each distinct frame of a clip once (``STASN(dedupe=True)``).
    """

    def __init__(
        self,
        model_config: dict[str, Any],
        cache_info: dict[str, Any],
        *,
        lr: float = 1e-4,
        weight_decay: float = 1e-4,
        warmup_steps: int = 0,
        criterion: str = "eer",
        channels_last: bool = False,
        compile: bool = False,
        dedupe_frames: bool = True,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.config = STASNConfig.from_dict(model_config)
        self.cache_info = CacheInfo(**cache_info)
        self.model = STASN.from_config(self.config)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        if compile:
            # nn.Module.compile compiles in place, so state_dict keys (and checkpoints) stay the same.
            self.model.tasm.backbone.compile()
            self.model.sasm.backbone.compile()
        self.threshold: float | None = None
        self.dev_metrics: dict[str, float] = {}
        self._val_rows: list[ScoreRow] = []

    def forward(self, clips: torch.Tensor, highres: torch.Tensor | None = None):
        return self.model(clips, highres)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        # 1. forward, 2. losses of the current stage, 3. log
        # Still images are clips of one repeated frame (augmented alike): each distinct frame runs once. The loss and
        # its gradients are those of the plain path; only BatchNorm sees each repeated frame once instead of T times.
        output = self.model(batch["clips"], batch["highres"], dedupe=self.hparams.dedupe_frames)
        losses = self.model.compute_loss(output, batch["label"])
        self.log_dict(
            {f"train/{k}": v for k, v in losses.items()},
            prog_bar=False,
            on_step=True,
            on_epoch=True,
            batch_size=batch["label"].shape[0],
        )
        self.log("loss", losses["loss"], prog_bar=True, on_step=True, on_epoch=False, batch_size=len(batch["label"]))
        return losses["loss"]

    def on_validation_epoch_start(self) -> None:
        self._val_rows = []

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        output = self.model(batch["clips"], batch["highres"], dedupe=True)
        self._val_rows.extend(score_rows_from_batch(batch, output))

    def on_validation_epoch_end(self) -> None:
        rows = self._gather(self._val_rows)
        summary = dev_summary(rows, criterion=self.hparams.criterion)
        if summary is None:  # dev set lacks a class (e.g. a sanity-check batch): nothing meaningful to log
            self.log_dict({"dev/acer": math.inf, "dev/eer": math.inf}, sync_dist=False)
            return
        self.threshold = summary["threshold"]
        self.dev_metrics = summary
        self.log_dict({f"dev/{k}": float(v) for k, v in summary.items()}, prog_bar=True, sync_dist=False)

    def _gather(self, rows: list[ScoreRow]) -> list[ScoreRow]:
        """All ranks' dev scores on every rank (DDP), so every rank computes the same threshold."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return rows
        gathered: list[list[ScoreRow]] = [None] * torch.distributed.get_world_size()  # type: ignore[list-item]
        torch.distributed.all_gather_object(gathered, rows)
        merged = {row.sample_id: row for part in gathered for row in part}  # DistributedSampler pads: dedupe
        return list(merged.values())

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(self.hparams.warmup_steps, total - 1)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["stasn"] = stasn_metadata(
            self.config,
            self.cache_info,
            threshold=self.threshold,
            threshold_criterion=self.hparams.criterion,
            stage=self.model.stage,
        )
        checkpoint["stasn"]["dev_metrics"] = {k: float(v) for k, v in self.dev_metrics.items()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        meta = checkpoint.get("stasn", {})
        self.threshold = meta.get("threshold")
        self.dev_metrics = dict(meta.get("dev_metrics", {}))

    def cache_info_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.cache_info)
