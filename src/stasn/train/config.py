"""Experiment configuration: one YAML file with ``model``, ``data``, ``synth`` and ``train`` sections.

``stasn train --config configs/oulu_p1.yaml train.lr=3e-4 model.backbone=resnet18`` reads the file, then applies
``key=value`` overrides (dotted paths; values parsed as YAML, so ``1e-4``, ``true``, ``[a, b]`` work). Unknown keys are
errors that list the valid ones. Defaults marked "ours" are this project's choices, not the paper's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stasn.evaluate.evaluation import CRITERIA
from stasn.model.config import STASNConfig, check_field_types, coerce_numbers
from stasn.model.stasn import STAGES
from stasn.synth.kinds import KINDS

__all__ = [
    "ExperimentConfig",
    "DataConfig",
    "PrepareConfig",
    "SynthConfig",
    "TrainConfig",
    "StageSpec",
    "load_experiment",
    "apply_overrides",
]


@dataclass
class PrepareConfig:
    """How to build the crop cache when it does not exist yet (``stasn prepare`` arguments)."""

    dataset: str | None = None  # adapter name, e.g. "oulu-npu"; None = the cache must already exist
    root: str | None = None  # dataset root folder
    protocol: str | None = None
    fold: str | None = None
    detector: str = "yunet"  # "yunet" (shipped with stasn), "yunet:/path.onnx", "haar", "ssd:/path.pb,/path.pbtxt"
    frames_per_video: int = 10  # ours: enough for two clips of T=5
    workers: int = 2


@dataclass
class DataConfig:
    cache: str = "runs/cache"  # the face-crop cache (made by `stasn prepare` / `stasn synth`)
    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    batch_size: int = 8
    num_workers: int = 2
    balance: bool = True  # sample live and spoof clips equally often in training; ours
    eval_clips_per_video: int = 2  # clips scored per dev/test video; their scores are averaged; ours
    train_clips_per_video: int = 1  # random clips per training video per epoch; raise for small datasets
    sample_by: str = "video"  # "frames": draw a video as often as it holds clips of T frames (every frame ~once)
    box_jitter: float = 0.08  # training crops keep a random [1 - box_jitter, 1] share of the face crop; ours (mild)
    exposure: float = 0.0  # training clips x a gain in [1/(1+e), 1+e] (log-uniform); 0 = off; ours
    jpeg: float = 0.0  # share of training clips re-compressed as JPEG at quality 40-90; ours


@dataclass
class SynthConfig:
    """Synthesized attacks made on the fly from live training clips (the paper's "data" claim)."""

    fraction: float = 0.0  # share of live training clips turned into attacks; 0 = train without synthetic data
    kinds: list[str] = field(default_factory=lambda: ["replay", "print"])
    weights: list[float] | None = None  # relative frequency of each kind; None = equal
    live_camera: float = 0.0  # share of live training clips re-filmed by a random camera (stasn.synth.camera); ours
    templates: str | None = None  # real device templates (stasn templates extract) for a share of the replays
    template_ratio: float = 0.5  # share of synthesized replays composited into `templates`; ours


@dataclass
class StageSpec:
    stage: str  # "tasm" | "sasm" | "joint"
    epochs: int


@dataclass
class TrainConfig:
    stages: list[StageSpec] = field(
        default_factory=lambda: [StageSpec("tasm", 2), StageSpec("sasm", 1), StageSpec("joint", 2)]
    )  # ours: TASM first, then SASM on RAM's regions with TASM frozen, then everything
    lr: float = 1e-4  # AdamW; ours
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    min_steps: int = 0  # > 0: small training sets get their stages' epochs multiplied until the run has this many steps
    precision: str = "32-true"  # "bf16-mixed" on GPUs; passed to Lightning
    accelerator: str = "auto"
    devices: Any = "auto"  # GPUs per node; DDP is used when > 1
    num_nodes: int = 1
    strategy: str = "auto"  # "ddp" for several GPUs or nodes
    compile: bool = False  # torch.compile the backbones
    channels_last: bool = False
    dedupe_frames: bool = True  # run each distinct frame of a training clip once (still images: T x cheaper); ours
    deterministic: bool = False
    limit_train_batches: Any = None  # int (batches) or float (fraction) per epoch; None = all
    limit_val_batches: Any = None
    monitor: str = "acer"  # dev metric that picks the best checkpoint: "acer" or "eer" (lower is better)
    criterion: str = "eer"  # how the dev threshold is chosen: "eer" | "eer-mid" | "bpcer20" | "bpcer10" | "bpcer100"
    log_every_n_steps: int = 10
    gradient_clip_val: float | None = 1.0


@dataclass
class ExperimentConfig:
    name: str = "stasn"
    output_dir: str = "runs"  # runs/<name>/ gets checkpoints, logs, scores and the report
    seed: int = 0
    model: STASNConfig = field(default_factory=STASNConfig)
    data: DataConfig = field(default_factory=DataConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the key and the value for anything training could not use."""
        self.model.validate()
        check_field_types(self.model, "model")
        check_field_types(self.data, "data")
        check_field_types(self.data.prepare, "data.prepare")
        check_field_types(self.synth, "synth")
        check_field_types(self.train, "train")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        train, data = self.train, self.data
        if not train.lr > 0:  # also refuses NaN
            raise ValueError(f"train.lr must be > 0, got {train.lr}")
        for key, value, minimum in (
            ("train.weight_decay", train.weight_decay, 0),
            ("train.warmup_steps", train.warmup_steps, 0),
            ("train.min_steps", train.min_steps, 0),
            ("train.num_nodes", train.num_nodes, 1),
            ("train.log_every_n_steps", train.log_every_n_steps, 1),
            ("data.batch_size", data.batch_size, 1),
            ("data.num_workers", data.num_workers, 0),
            ("data.eval_clips_per_video", data.eval_clips_per_video, 1),
            ("data.train_clips_per_video", data.train_clips_per_video, 1),
            ("data.prepare.frames_per_video", data.prepare.frames_per_video, 0),
            ("data.prepare.workers", data.prepare.workers, 1),
        ):
            if value < minimum:
                raise ValueError(f"{key} must be >= {minimum}, got {value}")
        if train.gradient_clip_val is not None and not train.gradient_clip_val > 0:
            raise ValueError(f"train.gradient_clip_val must be > 0 or null, got {train.gradient_clip_val}")
        if not 0.0 <= data.box_jitter < 1.0:
            raise ValueError(f"data.box_jitter must be in [0, 1), got {data.box_jitter}")
        if not self.train.stages:
            raise ValueError("train.stages is empty; give at least one {stage, epochs}")
        for spec in self.train.stages:
            if spec.stage not in STAGES:
                raise ValueError(f"Unknown stage {spec.stage!r} in train.stages. Valid values are {set(STAGES)}.")
            if not isinstance(spec.epochs, int) or isinstance(spec.epochs, bool) or spec.epochs < 0:
                raise ValueError(f"train.stages: epochs must be an integer >= 0, got {spec.epochs!r} for {spec.stage}")
        if self.train.monitor not in ("acer", "eer"):
            raise ValueError(f"train.monitor must be 'acer' or 'eer', got {self.train.monitor!r}")
        if self.train.criterion not in CRITERIA:
            raise ValueError(
                f"Unknown train.criterion {self.train.criterion!r}. Valid values are {{{', '.join(CRITERIA)}}}."
            )
        if self.data.sample_by not in ("video", "frames"):
            raise ValueError(f"data.sample_by must be 'video' or 'frames', got {self.data.sample_by!r}")
        if not 0.0 <= self.synth.fraction <= 1.0:
            raise ValueError(f"synth.fraction must be in [0, 1], got {self.synth.fraction}")
        if not 0.0 <= self.synth.template_ratio <= 1.0:
            raise ValueError(f"synth.template_ratio must be in [0, 1], got {self.synth.template_ratio}")
        if not 0.0 <= self.synth.live_camera <= 1.0:
            raise ValueError(f"synth.live_camera must be in [0, 1], got {self.synth.live_camera}")
        for kind in self.synth.kinds:
            if kind not in KINDS:
                raise ValueError(f"synth.kinds: unknown kind {kind!r}. Valid values are {{{', '.join(KINDS)}}}.")


def _build(cls: type, values: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, recursing into nested dataclass fields; unknown keys are errors.

    ``where`` is the dotted key path of ``values`` ("" for the top level); error messages start with it.
    """
    prefix = f"{where}: " if where else ""
    if dataclasses.is_dataclass(values):
        return values
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ValueError(f"{prefix}expected a mapping, got {values!r}")
    if cls is STASNConfig:
        return STASNConfig.from_dict(values, source=where or "model")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{prefix}unknown key(s) {unknown}. Valid keys: {sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        key = f"{where}.{name}" if where else name
        nested = _NESTED.get((cls, name))
        if nested is StageSpec:
            if not isinstance(value, list):
                raise ValueError(f"{key}: expected a list of {{stage, epochs}}, got {value!r}")
            kwargs[name] = [_build(StageSpec, v, f"{key}[{i}]") for i, v in enumerate(value)]
        elif nested is not None:
            kwargs[name] = _build(nested, value, key)
        else:
            kwargs[name] = value
    try:
        return cls(**coerce_numbers(cls, kwargs, source=where or "config"))
    except TypeError as exc:
        raise ValueError(f"{prefix}{exc}") from None


_NESTED: dict[tuple[type, str], type] = {
    (ExperimentConfig, "model"): STASNConfig,
    (ExperimentConfig, "data"): DataConfig,
    (ExperimentConfig, "synth"): SynthConfig,
    (ExperimentConfig, "train"): TrainConfig,
    (DataConfig, "prepare"): PrepareConfig,
    (TrainConfig, "stages"): StageSpec,
}


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` strings to a nested dict (values parsed as YAML). Returns a new dict."""
    import copy

    result = copy.deepcopy(values)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not key=value (e.g. train.lr=3e-4)")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {part!r} is not a section")
        node[parts[-1]] = yaml.safe_load(text)
    return result


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def load_experiment(
    paths: str | Path | list[str | Path] | None = None,
    overrides: list[str] | None = None,
    base: dict[str, Any] | None = None,
) -> ExperimentConfig:
    """Read one or more experiment YAML files (later ones update earlier ones, section by section), starting from
    ``base``; apply ``key=value`` overrides; validate.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable YAML, unknown keys, or invalid values (the message names the file and key).
    """
    import copy

    if paths is None:
        paths = []
    elif not isinstance(paths, list):
        paths = [paths]
    values: dict[str, Any] = copy.deepcopy(base or {})
    source = ", ".join(str(p) for p in paths) or "config"
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: config file not found")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        _merge(values, loaded)
    values = apply_overrides(values, overrides or [])
    try:
        config = _build(ExperimentConfig, values, "")
        config.validate()
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    return config
