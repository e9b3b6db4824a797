"""``SynthesizeAttack``: the on-the-fly transform ClipDataset applies to live training clips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stasn.labels import AttackType
from stasn.synth import PrintParams, ReplayParams, ReplayRanges, SynthesizeAttack
from stasn.synth.recapture import CaptureRanges
from stasn.testing.faces import face_clip

SMALL = ReplayRanges(capture=CaptureRanges(sensor_px=(48.0, 64.0)))


def test_synthesize_attack_contract() -> None:
    transform = SynthesizeAttack(replay_ranges=SMALL)
    clip = face_clip(3, 48, seed=1)
    seen = set()
    for seed in range(6):
        frames, attack_type, params = transform(clip.copy(), np.random.default_rng(seed))
        assert frames.shape == clip.shape and frames.dtype == np.uint8
        assert AttackType(attack_type).label == 1
        assert attack_type == f"{params['kind']}-synth"
        json.dumps(params)  # stored as JSON by the dataset
        remake = (ReplayParams if params["kind"] == "replay" else PrintParams).from_dict(params["params"])
        assert remake.to_dict() == params["params"]
        seen.add(params["kind"])
    assert seen == {"replay", "print"}


def test_synthesize_attack_is_reproducible_and_weighted() -> None:
    transform = SynthesizeAttack(kinds=["print"], weights=[2.0])
    clip = face_clip(2, 40, seed=2)
    a = transform(clip, np.random.default_rng(5))
    b = transform(clip, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == "print-synth" and a[2] == b[2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": ("mask",)}, "Unknown attack kind 'mask'"),
        ({"kinds": ()}, "kinds is empty"),
        ({"kinds": ("replay", "print"), "weights": (1.0,)}, "1 weights for 2 kinds"),
        ({"weights": (0.0, 0.0)}, "positive sum"),
    ],
)
def test_synthesize_attack_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SynthesizeAttack(**kwargs)
