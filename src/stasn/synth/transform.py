"""On-the-fly synthesis for training: a callable that turns a live clip into a synthesized attack.

``ClipDataset(synth_transform=SynthesizeAttack(), synth_fraction=0.5)`` calls it on a share of the live training
clips; the dataset relabels the clip as a spoof with the returned attack type and keeps the parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stasn.synth.kinds import KINDS
from stasn.synth.medium import image_size
from stasn.synth.printing import PrintRanges, PrintSynthesizer
from stasn.synth.replay import ReplayRanges, ReplaySynthesizer

__all__ = ["SynthesizeAttack"]


class SynthesizeAttack:
    """``(highres_frames, rng) -> (frames, attack_type, params)`` for :class:`stasn.data.clips.ClipDataset`.

    Args:
        kinds: which attacks to make, among :data:`stasn.synth.kinds.KINDS` (``"replay"``, ``"print"``).
        weights: relative frequency of each kind (same length as ``kinds``); ``None`` = equal.
        replay_ranges, print_ranges: parameter ranges (defaults: :class:`ReplayRanges`, :class:`PrintRanges`).
        templates, template_ratio: real device templates for a share of the replays (see :class:`ReplaySynthesizer`).

    The call takes ``np.ndarray[T, H, W, 3]`` uint8 RGB (the clip's high-res frames) and an explicit generator, and
    returns frames of the same shape, ``"replay-synth"`` or ``"print-synth"``, and a JSON-safe ``dict``
    ``{"kind": ..., "params": {...}}`` of every parameter drawn, from which the same attack can be remade
    (``ReplayParams.from_dict(d["params"])``).

    Example::

        synth = SynthesizeAttack(kinds=("replay", "print"), weights=(3, 1))
        frames, attack_type, params = synth(highres, np.random.default_rng(0))
    """

    def __init__(
        self,
        kinds: Sequence[str] = KINDS,
        weights: Sequence[float] | None = None,
        *,
        replay_ranges: ReplayRanges | None = None,
        print_ranges: PrintRanges | None = None,
        templates: str | None = None,
        template_ratio: float = 0.5,
    ) -> None:
        kinds = tuple(kinds)
        if not kinds:
            raise ValueError("SynthesizeAttack: kinds is empty; give at least one of replay, print")
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise ValueError(f"Unknown attack kind {unknown[0]!r}. Valid values are {{{', '.join(KINDS)}}}.")
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"SynthesizeAttack: kinds has duplicates: {list(kinds)}")
        if weights is None:
            weights = [1.0] * len(kinds)
        weights = [float(w) for w in weights]
        if len(weights) != len(kinds):
            raise ValueError(f"SynthesizeAttack: {len(weights)} weights for {len(kinds)} kinds {list(kinds)}")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"SynthesizeAttack: weights must be >= 0 with a positive sum, got {weights}")
        self.kinds = kinds
        self.probabilities = np.asarray(weights) / sum(weights)
        self.synthesizers = {
            "replay": ReplaySynthesizer(replay_ranges, templates=templates, template_ratio=template_ratio),
            "print": PrintSynthesizer(print_ranges),
        }

    def __repr__(self) -> str:
        shares = ", ".join(f"{k}={p:.2f}" for k, p in zip(self.kinds, self.probabilities, strict=True))
        return f"SynthesizeAttack({shares})"

    def __call__(self, highres_frames: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str, dict]:
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.probabilities))]
        synth = self.synthesizers[kind]
        params = synth.sample_params(rng, image_size(highres_frames))
        frames = synth.apply(highres_frames, params)
        return frames, synth.attack_type, {"kind": kind, "params": params.to_dict()}
