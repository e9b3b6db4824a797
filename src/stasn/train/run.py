"""``train_experiment``: the whole training job — cache, data, staged fit, dev threshold, test scores and report.

Output folder ``<output_dir>/<name>/``::

    checkpoints/best.ckpt  checkpoints/last.ckpt    model + config + crop sizes + dev threshold
    logs/version_N/metrics.csv                     CSV metrics (one version per start/resume); tb/ TensorBoard
    scores/dev.csv  scores/test.csv                one row per scored clip (stasn.evaluate score-file format)
    report/report.md  report/report.html           test metrics at the dev threshold, curves, RAM regions

A missing cache is made inside ``trainer.fit``, by the DataModule's ``prepare_data`` on one process of the job
(:class:`~stasn.data.datamodule.CacheDataModule`), so a DDP launch never has two processes writing it.

A run folder that already holds checkpoints is never reused silently: pass ``resume`` to continue it or
``overwrite=True`` to replace it (its checkpoints, scores and report are deleted first; the logs keep their earlier
versions). A checkpoint to resume from is read as plain data first (:func:`stasn.model.checkpoint.read_checkpoint_file`)
and Lightning loads it with ``weights_only=True`` too, so a hostile file is refused before anything in it can run.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml

from stasn.data.manifest import CACHE_INFO_NAME, MANIFEST_NAME, CacheInfo, read_cache_info
from stasn.errors import CheckpointError, DataError, OutputError
from stasn.fileio import WRITE_ERRNOS, write_error_message, write_text_atomic
from stasn.model.checkpoint import check_metadata, read_checkpoint_file
from stasn.train.config import ExperimentConfig
from stasn.train.stages import StageSchedule
from stasn.train.system import STASNSystem

__all__ = ["TrainResult", "train_experiment", "resolve_resume", "check_run_dir", "check_resume_checkpoint"]

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    threshold: float | None
    dev_metrics: dict[str, float]
    test_metrics: dict[str, Any]
    report_dir: Path | None


def resolve_resume(resume: str | Path | None, run_dir: Path) -> Path | None:
    """``None``: start fresh; ``"auto"``: ``<run>/checkpoints/last.ckpt`` if present; else that path (must exist)."""
    if resume is None:
        return None
    if str(resume) == "auto":
        last = run_dir / "checkpoints" / "last.ckpt"
        return last if last.is_file() else None
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint to resume from not found")
    return path


def check_run_dir(run_dir: Path, *, resume: str | Path | None, overwrite: bool) -> None:
    """Refuse to start a fresh run in a folder that holds another run's checkpoints; with ``overwrite``, clear them.

    Raises:
        ValueError: checkpoints exist and neither ``resume`` nor ``overwrite`` is given; both are given; or
            ``resume="auto"`` finds checkpoints but no ``last.ckpt`` to continue.
    """
    if resume is not None and overwrite:
        raise ValueError("give --resume or --overwrite, not both")
    found = sorted(p.name for p in (run_dir / "checkpoints").glob("*.ckpt"))  # empty when there is no folder
    if not found:
        return
    if overwrite:
        log.info("%s: --overwrite: deleting the earlier run's checkpoints, scores and report", run_dir)
        for sub in ("checkpoints", "scores", "report"):
            shutil.rmtree(run_dir / sub, ignore_errors=True)
        return
    if resume is None:
        raise ValueError(
            f"{run_dir}: already holds checkpoints of an earlier run ({', '.join(found)}); pass --resume auto to "
            "continue it, --overwrite to replace it, or choose another name=..."
        )
    if str(resume) == "auto" and "last.ckpt" not in found:
        raise ValueError(
            f"{run_dir / 'checkpoints'}: has {', '.join(found)} but no last.ckpt to resume from; pass --resume PATH "
            "or --overwrite"
        )


def check_resume_checkpoint(path: Path) -> None:
    """Read a checkpoint to resume from as plain data and check it is a stasn training checkpoint.

    Raises:
        CheckpointError: a file that would run code (refused, nothing run), a damaged file, or one without the
            training state Lightning needs (``stasn export``-style minimal checkpoints cannot be resumed).
    """
    payload = read_checkpoint_file(path)
    if "stasn" not in payload:
        raise CheckpointError(f"{path}: not a stasn checkpoint (no 'stasn' metadata); was it written by `stasn train`?")
    check_metadata(payload["stasn"], source=str(path))
    if "loops" not in payload or "optimizer_states" not in payload:
        raise CheckpointError(
            f"{path}: holds weights but no training state (loops, optimizer); train from it with "
            "model.pretrained or start a fresh run"
        )


def _cache_info(config: ExperimentConfig) -> CacheInfo:
    """The crop geometry of the cache training reads: its ``cache.json``, or, for a cache still to be made, the one
    the DataModule will make it with. Only reads, so every DDP process may call it while one prepares.

    Raises:
        FileNotFoundError: no cache and no ``data.prepare.dataset`` to make one from.
        DataError: the cache's crop sizes do not fit the model.
    """
    cache = Path(config.data.cache)
    if not (cache / MANIFEST_NAME).is_file() and config.data.prepare.dataset is None:
        raise FileNotFoundError(
            f"{cache / MANIFEST_NAME}: no crop cache; run `stasn prepare` first or set data.prepare.dataset/root"
        )
    if (cache / CACHE_INFO_NAME).is_file():
        info = read_cache_info(cache)
    else:
        info = CacheInfo(face_size=config.model.input_size, highres_size=config.model.highres_size)
    if info.face_size != config.model.input_size or info.highres_size != config.model.highres_size:
        raise DataError(
            f"{cache}: crops are {info.face_size}/{info.highres_size} px but the model expects "
            f"input_size={config.model.input_size}/highres_size={config.model.highres_size}; re-prepare or change model"
        )
    return info


def _datamodule(config: ExperimentConfig, cache_info: CacheInfo):
    from stasn.data.datamodule import CacheDataModule

    synth_transform = camera_transform = None
    if config.synth.fraction > 0:
        from stasn.synth import SynthesizeAttack

        synth_transform = SynthesizeAttack(
            kinds=tuple(config.synth.kinds),
            weights=config.synth.weights,
            templates=config.synth.templates,
            template_ratio=config.synth.template_ratio,
        )
    if config.synth.live_camera > 0:
        from stasn.synth.camera import SimulateCamera

        camera_transform = SimulateCamera()
    from stasn.data.augment import ClipAugment

    prep = config.data.prepare
    prepare = None
    if prep.dataset is not None:  # made in CacheDataModule.prepare_data, by one process, when the cache is missing
        prepare = {
            "dataset": prep.dataset,
            "root": prep.root,
            "protocol": prep.protocol,
            "fold": prep.fold,
            "detector": prep.detector,
            "frames_per_video": prep.frames_per_video,
            "workers": prep.workers,
        }
    return CacheDataModule(
        config.data.cache,
        augment=ClipAugment(jitter=config.data.box_jitter, exposure=config.data.exposure, jpeg=config.data.jpeg),
        num_frames=config.model.num_frames,
        batch_size=config.data.batch_size,
        num_workers=config.data.num_workers,
        balance=config.data.balance,
        synth_transform=synth_transform,
        synth_fraction=config.synth.fraction,
        camera_transform=camera_transform,
        camera_fraction=config.synth.live_camera,
        eval_clips_per_video=config.data.eval_clips_per_video,
        train_clips_per_video=config.data.train_clips_per_video,
        sample_by=config.data.sample_by,
        prepare=prepare,
        cache_info=cache_info,
        pin_memory=torch.cuda.is_available() and config.train.accelerator in ("auto", "gpu", "cuda"),
        seed=config.seed,
    )


def _strategy(config: ExperimentConfig) -> str:
    # Staged training freezes parts of the model, so DDP must tolerate parameters without gradients.
    return "ddp_find_unused_parameters_true" if config.train.strategy == "ddp" else config.train.strategy


def _atomic_checkpoint_io():
    """Lightning's checkpoint writer, writing like every stasn output (:mod:`stasn.fileio`): to a temporary name in
    the checkpoint folder, renamed when complete. Lightning's own writer stages the file in the system temp folder
    and copies it over, which leaves a truncated ``best.ckpt`` when the run folder's disk fills up mid-copy."""
    import io

    from lightning.pytorch.plugins.io import TorchCheckpointIO

    from stasn.fileio import write_bytes_atomic

    class AtomicCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
            if storage_options is not None:
                raise TypeError("storage_options are not supported by stasn's checkpoint writer")
            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            write_bytes_atomic(path, buffer.getbuffer())

    return AtomicCheckpointIO()


def _latest_of_best_checkpoint(**kwargs: Any) -> L.pytorch.callbacks.ModelCheckpoint:
    """Lightning's ``ModelCheckpoint`` with one change: an epoch that *ties* the best dev value replaces it.

    On a small or easy dev split the monitored ACER often reaches 0 in the first epoch and stays there; Lightning keeps
    the first of equals, which is the least-trained model (still at the top of the learning-rate schedule). Among
    epochs equally good on dev we keep the latest (ours).
    """
    from lightning.pytorch.callbacks import ModelCheckpoint

    class LatestOfBestCheckpoint(ModelCheckpoint):
        def check_monitor_top_k(self, trainer: L.Trainer, current: torch.Tensor | None = None) -> bool:
            if current is None or self.save_top_k != 1 or not self.best_k_models:
                return super().check_monitor_top_k(trainer, current)
            tie_or_better = {"min": torch.le, "max": torch.ge}[self.mode]
            decision = bool(tie_or_better(current, self.best_k_models[self.kth_best_model_path]))
            return trainer.strategy.reduce_boolean_decision(decision)

    return LatestOfBestCheckpoint(**kwargs)


def build_trainer(
    config: ExperimentConfig, *, callbacks: list[L.Callback] | None = None, enable_progress_bar: bool = True
) -> tuple[L.Trainer, L.pytorch.callbacks.ModelCheckpoint]:
    """A Lightning ``Trainer`` configured from ``config.train`` (stages, checkpoints, CSV + TensorBoard logs).

    ``checkpoints/best.ckpt`` is the epoch with the lowest ``dev/<train.monitor>``, the latest of equals."""
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    run_dir = config.run_dir
    train = config.train
    stages = StageSchedule([(s.stage, s.epochs) for s in train.stages], min_steps=train.min_steps)
    checkpoint = _latest_of_best_checkpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor=f"dev/{train.monitor}",
        mode="min",
        save_top_k=1,
        enable_version_counter=False,
    )
    # A separate unmonitored callback keeps last.ckpt current every epoch: Lightning's save_last only writes when
    # the monitored checkpoint improved, which would make --resume lose epochs.
    last = ModelCheckpoint(
        dirpath=run_dir / "checkpoints", filename="last", monitor=None, save_top_k=1, enable_version_counter=False
    )
    # One version folder per (re)start: a resumed run keeps the logs of the runs before it.
    loggers = [CSVLogger(run_dir, name="logs"), TensorBoardLogger(run_dir, name="tb")]
    trainer = L.Trainer(
        max_epochs=stages.total_epochs,
        accelerator=train.accelerator,
        devices=train.devices,
        num_nodes=train.num_nodes,
        strategy=_strategy(config),
        precision=train.precision,
        deterministic=train.deterministic,
        limit_train_batches=train.limit_train_batches,
        limit_val_batches=train.limit_val_batches,
        log_every_n_steps=train.log_every_n_steps,
        gradient_clip_val=train.gradient_clip_val,
        default_root_dir=run_dir,
        logger=loggers,
        callbacks=[stages, checkpoint, last, *(callbacks or [])],
        plugins=[_atomic_checkpoint_io()],
        num_sanity_val_steps=0,
        enable_progress_bar=enable_progress_bar,
        enable_model_summary=False,
    )
    return trainer, checkpoint


def train_experiment(
    config: ExperimentConfig,
    *,
    resume: str | Path | None = None,
    overwrite: bool = False,
    evaluate_test: bool = True,
    enable_progress_bar: bool = True,
) -> TrainResult:
    """Run the configured training, then score dev and test with the best checkpoint and write the report.

    Args:
        config: the experiment.
        resume: ``None`` (fresh), ``"auto"`` (continue ``last.ckpt`` if there is one) or a checkpoint path.
        overwrite: start fresh even though the run folder holds checkpoints (they are deleted first).
        evaluate_test: score the test split and write the report at the end.
    """
    config.validate()
    run_dir = config.run_dir
    check_run_dir(run_dir, resume=resume, overwrite=overwrite)
    ckpt_path = resolve_resume(resume, run_dir)
    if ckpt_path is not None:
        check_resume_checkpoint(ckpt_path)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    L.seed_everything(config.seed, workers=True, verbose=False)
    if config.train.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    cache_info = _cache_info(config)
    datamodule = _datamodule(config, cache_info)
    system = STASNSystem(
        config.model.to_dict(),
        dataclasses.asdict(cache_info),
        lr=config.train.lr,
        weight_decay=config.train.weight_decay,
        warmup_steps=config.train.warmup_steps,
        criterion=config.train.criterion,
        channels_last=config.train.channels_last,
        compile=config.train.compile,
        dedupe_frames=config.train.dedupe_frames,
    )
    trainer, checkpoint_cb = build_trainer(config, enable_progress_bar=enable_progress_bar)
    try:
        # weights_only=True: Lightning reads the file again itself; plain data only there too.
        trainer.fit(system, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except OSError as exc:
        if exc.errno in WRITE_ERRNOS:  # checkpoints and logs go to the run folder (Lightning names a temp file)
            raise OutputError(write_error_message(exc, run_dir)) from None
        raise
    best = Path(checkpoint_cb.best_model_path) if checkpoint_cb.best_model_path else run_dir / "checkpoints/last.ckpt"
    last = run_dir / "checkpoints" / "last.ckpt"
    result = TrainResult(run_dir, best, last, system.threshold, dict(system.dev_metrics), {}, None)
    if evaluate_test and trainer.is_global_zero:
        from stasn.train.checkpoint_eval import evaluate_checkpoint

        outcome = evaluate_checkpoint(
            best,
            cache=config.data.cache,
            out_dir=run_dir,
            batch_size=config.data.batch_size,
            num_workers=config.data.num_workers,
            clips_per_video=config.data.eval_clips_per_video,
            title=config.name,
        )
        result.threshold = outcome.threshold
        result.test_metrics = outcome.test_metrics
        result.report_dir = outcome.report_dir
    return result
