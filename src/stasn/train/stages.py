"""Staged training as a Lightning callback: TASM first, then SASM with TASM frozen, then joint (order is ours).

A schedule is given in epochs; ``min_steps`` stretches it on small training sets, where a couple of epochs are a few
dozen optimizer steps (NUAA's one session: about 10 steps an epoch at batch 16) and the warm-up alone would use them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import lightning as L

__all__ = ["StageSchedule", "stage_for_epoch", "stretch_factor"]

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


def stretch_factor(total_epochs: int, steps_per_epoch: int, min_steps: int) -> int:
    """The whole number every stage's epochs are multiplied by so the run takes at least ``min_steps`` optimizer
    steps (1 when it already does, or when ``min_steps`` is 0).

    >>> stretch_factor(2, 10, 150)  # 2 epochs of 10 steps -> 8 x (16 epochs, 160 steps)
    8
    >>> stretch_factor(2, 100, 150)
    1
    """
    if min_steps <= 0 or steps_per_epoch <= 0 or total_epochs <= 0:
        return 1
    return max(1, math.ceil(min_steps / (total_epochs * steps_per_epoch)))


class StageSchedule(L.Callback):
    """Sets ``model.set_stage(...)`` at the start of every training epoch from the epoch number alone, so a resumed
    run lands in the right stage without extra state.

    With ``min_steps`` > 0 it also stretches the schedule when training starts: once the training set is known, every
    stage's epochs are multiplied by :func:`stretch_factor` (the proportions stay) and the trainer's ``max_epochs``
    follows. The factor depends only on the data, so a resumed run stretches the same way.
    """

    def __init__(self, stages: Sequence[tuple[str, int]], min_steps: int = 0) -> None:
        self.stages = [(name, int(epochs)) for name, epochs in stages if int(epochs) > 0]
        if not self.stages:
            raise ValueError("no training stage has epochs > 0")
        if min_steps < 0:
            raise ValueError(f"min_steps must be >= 0, got {min_steps}")
        self.min_steps = int(min_steps)
        self.factor = 1

    @property
    def total_epochs(self) -> int:
        return sum(epochs for _, epochs in self.stages)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # Lightning calls this after the datamodule's setup and before configure_optimizers, so the learning-rate
        # schedule (trainer.estimated_stepping_batches) already sees the stretched max_epochs.
        if stage != "fit" or not self.min_steps or self.factor != 1:
            return
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is None:
            return
        batches = len(datamodule.train_dataloader())
        limit = trainer.limit_train_batches
        if isinstance(limit, int):
            batches = min(batches, limit)
        elif isinstance(limit, float):
            batches = int(batches * limit)
        steps_per_epoch = math.ceil(batches / max(1, trainer.world_size))
        self.factor = stretch_factor(self.total_epochs, steps_per_epoch, self.min_steps)
        if self.factor > 1:
            before = self.total_epochs
            self.stages = [(name, epochs * self.factor) for name, epochs in self.stages]
            trainer.fit_loop.max_epochs = self.total_epochs
            log.info(
                "train.min_steps=%d: %d epochs of %d steps stretched x%d to %d epochs (%d steps)",
                self.min_steps,
                before,
                steps_per_epoch,
                self.factor,
                self.total_epochs,
                self.total_epochs * steps_per_epoch,
            )

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        stage = stage_for_epoch(self.stages, trainer.current_epoch)
        if pl_module.model.stage != stage:
            log.info("epoch %d: stage %s", trainer.current_epoch, stage)
        pl_module.model.set_stage(stage)
        pl_module.model.train()
        pl_module.log("stage_index", float([s for s, _ in self.stages].index(stage)), on_epoch=True)
