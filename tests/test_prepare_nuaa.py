"""Real data: NUAA train frames (../shared) through the NUAA adapter and `stasn prepare` with YuNet.

CI prepares a deterministic subset (every 4th sequence, 10 frames each) to stay fast; the full set is the figure
reported in docs/data.md (run `benchmarks/prepare_throughput.py --nuaa-full` or `stasn prepare` yourself).
"""

from __future__ import annotations

import pytest

from conftest import shared_path
from stasn.data.clips import ClipDataset
from stasn.data.manifest import read_manifest
from stasn.data.prepare import prepare_samples
from stasn.datasets import open_dataset

pytestmark = [pytest.mark.slow, pytest.mark.shared]


def test_nuaa_prepare_with_yunet_finds_faces(tmp_path):
    root = shared_path("data", "nuaa-raw-train")
    model = shared_path("models", "yunet", "face_detection_yunet_2026may.onnx")
    dataset = open_dataset("nuaa", root)
    assert {s.attack_type for s in dataset} == {"live", "print"}
    assert sum(len(s.frame_paths) for s in dataset) == 878 + 893

    subset = list(dataset)[::4]
    summary = prepare_samples(
        subset, tmp_path / "cache", annotations=dataset.annotations, detector=f"yunet:{model}", frames_per_video=10
    )
    rows = read_manifest(tmp_path / "cache")
    assert len(rows) == summary.total.frames == sum(min(10, len(s.frame_paths)) for s in subset)
    assert summary.total.face_rate >= 0.99, summary
    assert {r.label for r in rows} == {0, 1}

    clips = ClipDataset(tmp_path / "cache", "train", num_frames=4)
    item = clips[0]
    assert item["clips"].shape == (4, 3, 224, 224) and item["highres"].shape == (4, 3, 448, 448)
