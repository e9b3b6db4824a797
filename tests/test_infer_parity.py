"""The predictor sees what evaluation scored: for the same video, ``stasn.Detector`` builds the clips (frame indices)
and the crops (pixels) that ``stasn evaluate --checkpoint --cache`` scores from the cache ``stasn prepare`` wrote, and
gives the same clip scores.

Videos are generated (:mod:`stasn.testing.videos`): a bright square "face" that moves one pixel per frame (so every
frame's crop differs), frames where it is missing (left out of clips on both sides), and a video shorter than a clip
(stretched on both sides).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stasn.data.clips import ClipDataset
from stasn.data.manifest import CacheInfo
from stasn.data.prepare import prepare_samples
from stasn.datasets.base import Sample
from stasn.evaluate.scores import read_scores
from stasn.infer.backends import BackendOutput
from stasn.infer.detector import Detector
from stasn.model import STASNConfig
from stasn.testing.videos import BrightBoxDetector, face_frame, write_video
from stasn.train.checkpoint_eval import evaluate_checkpoint
from tiny import TINY_MODEL, save_tiny_checkpoint

# the crop geometry save_tiny_checkpoint stores, so the cache and the checkpoint agree as after `stasn train`
INFO = CacheInfo(face_size=TINY_MODEL["input_size"], highres_size=TINY_MODEL["highres_size"])
SAMPLED = 10  # frames sampled per video, by `stasn prepare --frames-per-video` and `Detector(video_frames=...)`
# (video id, frames, frames without the face): a long video, one with gaps, one shorter than a clip of T = 2
VIDEOS = {"long": (40, ()), "gaps": (30, (3, 4, 5, 6, 7, 8, 9, 10, 11)), "short": (1, ())}
SPLITS = {"dev": ("long", "gaps"), "test": ("gaps", "short", "long")}


def _frames(count: int, hidden: tuple[int, ...]) -> list[np.ndarray]:
    return [face_frame(i, height=96, width=128, side=48, visible=i not in hidden) for i in range(count)]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Videos, the cache ``stasn prepare`` makes of them (live and attack rows in dev and test), a tiny checkpoint."""
    root = tmp_path_factory.mktemp("parity")
    videos = {
        name: write_video(root / f"{name}.mp4", _frames(n, hidden), gop=8) for name, (n, hidden) in VIDEOS.items()
    }
    samples = [
        Sample(videos[name], label, attack, split, f"{split}-{name}-{attack}", "parity", subject=f"{split}-{name}")
        for split, names in SPLITS.items()
        for name in names
        for label, attack in ((0, "live"), (1, "print"))
    ]
    cache = root / "cache"
    prepare_samples(samples, cache, detector=BrightBoxDetector(), frames_per_video=SAMPLED, cache_info=INFO)
    checkpoint = save_tiny_checkpoint(root / "tiny.ckpt", threshold=0.5)
    return {"videos": videos, "cache": cache, "checkpoint": checkpoint}


class _Recorder:
    """A backend that keeps what the predictor gives the model: uint8 crops per clip position."""

    name = "recorder"

    def __init__(self) -> None:
        self.clips: list[tuple[np.ndarray, np.ndarray]] = []  # per clip: faces [T, s, s, 3], highres [T, S, S, 3]

    def __call__(self, faces: np.ndarray, highres: np.ndarray, frame_index: np.ndarray) -> BackendOutput:
        as_uint8 = lambda x: np.rint(x.transpose(0, 2, 3, 1) * 255).astype(np.uint8)  # noqa: E731
        for rows in frame_index:
            self.clips.append((as_uint8(faces[rows]), as_uint8(highres[rows])))
        b, t = frame_index.shape
        k = TINY_MODEL["num_regions"]
        zeros = np.zeros(b, np.float32)
        return BackendOutput(zeros, zeros, zeros, np.tile(np.array([0, 0, 8, 8], np.float32), (b, t, k, 1)))


def _as_uint8(tensor) -> np.ndarray:
    """``Tensor[T, 3, H, W]`` float in [0, 1] -> ``np.ndarray[T, H, W, 3]`` uint8 (exact for cached pixels)."""
    return np.rint(tensor.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)


@pytest.mark.parametrize(("clips_per_video", "stride"), [(1, 1), (3, 1), (2, 2)])
def test_predictor_clips_and_crops_equal_evaluation(world, clips_per_video, stride):
    num_frames = TINY_MODEL["num_frames"]
    dataset = ClipDataset(world["cache"], "test", num_frames, clips_per_video=clips_per_video, frame_stride=stride)
    recorder = _Recorder()
    predictor = Detector(
        recorder,
        config=STASNConfig(**TINY_MODEL),
        cache_info=INFO,
        threshold=0.5,
        face_detector=BrightBoxDetector(),
        video_frames=SAMPLED,
        clips_per_video=clips_per_video,
        frame_stride=stride,
    )
    for name in SPLITS["test"]:
        items = [dataset[i] for i in range(len(dataset)) if dataset[i]["video_id"] == f"parity/test-{name}-live"]
        recorder.clips.clear()
        prediction = predictor.predict_video(world["videos"][name])
        assert len(prediction.clips) == len(items) >= 1, name
        for item, clip, (faces, highres) in zip(items, prediction.clips, recorder.clips, strict=True):
            assert [f.index for f in clip.frames] == list(dict.fromkeys(item["frame_index"].tolist())), name
            np.testing.assert_array_equal(faces, _as_uint8(item["clips"]), err_msg=name)
            np.testing.assert_array_equal(highres, _as_uint8(item["highres"]), err_msg=name)


def test_predictor_scores_equal_evaluate_checkpoint(world, tmp_path):
    outcome = evaluate_checkpoint(
        world["checkpoint"], cache=world["cache"], out_dir=tmp_path, clips_per_video=2, examples_per_class=0
    )
    evaluated = read_scores(Path(outcome.scores_dir) / "test.csv")
    predictor = Detector.from_checkpoint(
        world["checkpoint"], device="cpu", detector=BrightBoxDetector(), video_frames=SAMPLED, clips_per_video=2
    )
    for name in SPLITS["test"]:
        rows = [r for r in evaluated if r.video_id == f"parity/test-{name}-live"]
        prediction = predictor.predict_video(world["videos"][name])
        assert [c.frames[0].index for c in prediction.clips] == [r.frame_index for r in rows], name
        assert [c.spoof_score for c in prediction.clips] == pytest.approx([r.spoof_score for r in rows], abs=1e-5)
