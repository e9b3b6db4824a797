"""Staged training as a Lightning callback: TASM first, then SASM with TASM frozen, then joint (order is ours)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lightning as L

__all__ = ["StageSchedule", "stage_for_epoch"]

log = logging.getLogger(__name__)


def stage_for_epoch(stages: Sequence[tuple[str, int]], epoch: int) -> str:
    """Which stage epoch ``epoch`` (0-based) belongs to; past the end, the last stage.

    >>> stage_for_epoch([("tasm", 2), ("sasm", 1), ("joint", 2)], 2)
    'sasm'
    """
    end = 0
    for name, epochs in stages:
        end += epochs
        if epoch < end:
            return name
    return stages[-1][0]


class StageSchedule(L.Callback):
    """Sets ``model.set_stage(...)`` at the start of every training epoch from the epoch number alone, so a resumed
    run lands in the right stage without extra state."""

    def __init__(self, stages: Sequence[tuple[str, int]]) -> None:
        self.stages = [(name, int(epochs)) for name, epochs in stages if int(epochs) > 0]
        if not self.stages:
            raise ValueError("no training stage has epochs > 0")

    @property
    def total_epochs(self) -> int:
        return sum(epochs for _, epochs in self.stages)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        stage = stage_for_epoch(self.stages, trainer.current_epoch)
        if pl_module.model.stage != stage:
            log.info("epoch %d: stage %s", trainer.current_epoch, stage)
        pl_module.model.set_stage(stage)
        pl_module.model.train()
        pl_module.log("stage_index", float([s for s, _ in self.stages].index(stage)), on_epoch=True)
