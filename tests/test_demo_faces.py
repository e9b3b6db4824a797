"""Procedural live faces (stasn.demo.faces) and the generic-format live dataset writer (stasn.demo.livedata)."""

from __future__ import annotations

import csv
import dataclasses
import json

import av
import cv2
import numpy as np
import pytest

import stasn.demo.faces as faces
from conftest import shared_path
from stasn.demo.faces import HAIR_STYLES, render_clip, sample_identity
from stasn.demo.livedata import COLUMNS, split_subjects, write_live_dataset, write_video


def _clip(seed: int, *, num_frames: int = 4, size=64, identity_seed: int | None = None):
    who = sample_identity(np.random.default_rng(seed if identity_seed is None else identity_seed))
    return who, *render_clip(who, num_frames=num_frames, size=size, rng=np.random.default_rng(seed))


def _skin_mask(frame: np.ndarray) -> np.ndarray:
    """Classic YCrCb skin rule (Chai & Ngan 1999): 133 <= Cr <= 173, 77 <= Cb <= 127; works across skin tones."""
    ycc = cv2.cvtColor(frame, cv2.COLOR_RGB2YCrCb)
    cr, cb = ycc[..., 1], ycc[..., 2]
    return (cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)


def _box_mask(shape, box) -> np.ndarray:
    x1, y1, x2, y2 = np.round(box).astype(int)
    mask = np.zeros(shape[:2], bool)
    mask[y1:y2, x1:x2] = True
    return mask


# ------------------------------------------------------------------------------------------------- identities


def test_sample_identity_is_deterministic_and_varied():
    assert sample_identity(np.random.default_rng(3)) == sample_identity(np.random.default_rng(3))
    people = [sample_identity(np.random.default_rng(i)) for i in range(300)]
    assert len({p.texture_seed for p in people}) == 300
    tones = np.array([p.skin_tone for p in people])
    assert tones.min() < 0.05 and tones.max() > 0.95  # light to deep skin
    luminance = [0.3 * p.skin_rgb[0] + 0.6 * p.skin_rgb[1] + 0.1 * p.skin_rgb[2] for p in people]
    assert max(luminance) > 3 * min(luminance)
    assert {p.hair_style for p in people} == set(HAIR_STYLES)
    assert {p.glasses for p in people} == {"none", "round", "rect"}


def test_face_identity_rejects_unknown_choices():
    who = sample_identity(np.random.default_rng(0))
    with pytest.raises(ValueError, match="hair_style must be one of"):
        dataclasses.replace(who, hair_style="mohawk")
    with pytest.raises(ValueError, match="skin_tone must be in"):
        dataclasses.replace(who, skin_tone=1.5)


# ------------------------------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("size", [64, (48, 80), (96, 64)])
def test_render_clip_shapes_and_types(size):
    _, frames, boxes = _clip(1, num_frames=3, size=size)
    h, w = (size, size) if isinstance(size, int) else size
    assert frames.shape == (3, h, w, 3) and frames.dtype == np.uint8
    assert boxes.shape == (3, 4) and boxes.dtype == np.float32
    assert frames.std() > 10  # not a blank image


def test_render_clip_is_deterministic_for_a_seed():
    _, f1, b1 = _clip(7)
    _, f2, b2 = _clip(7)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(b1, b2)
    _, f3, _ = _clip(8, identity_seed=7)  # same person, another clip
    assert np.abs(f1.astype(int) - f3.astype(int)).mean() > 5


def test_render_clip_boxes_lie_in_the_frame_around_the_face():
    inside, outside = [], []
    for seed in range(10):
        _, frames, boxes = _clip(seed, num_frames=2, size=96)
        for box in boxes:
            x1, y1, x2, y2 = box
            assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96
            assert 0.25 * 96 < y2 - y1 < 0.6 * 96 and 0.5 < (x2 - x1) / (y2 - y1) < 1.0  # a face-shaped box
        skin, in_box = _skin_mask(frames[0]), _box_mask(frames[0].shape, boxes[0])
        inside.append(skin[in_box].mean())
        outside.append(skin[~in_box].mean())
    assert min(inside) > 0.4, inside  # skin dominates the box even with hair, beard or glasses in it
    assert np.median(inside) > 0.7, inside
    assert np.median(inside) > np.median(outside) + 0.4, (inside, outside)


def test_render_clip_consecutive_frames_are_similar_not_identical():
    _, frames, boxes = _clip(4, num_frames=12, size=96)
    steps = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert steps.min() > 0.3  # sensor noise and motion: never a frozen frame
    assert steps.max() < 8.0  # smooth motion: no jumps between frames
    assert np.abs(np.diff(boxes, axis=0)).max() < 0.05 * 96  # the face drifts, it does not jitter


def test_render_clip_subjects_differ():
    """Two people rendered with the same clip generator (same room, camera, motion) differ on the face."""
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(12)
    a, b = sample_identity(rng_a), sample_identity(rng_b)
    assert a != b
    fa, ba = render_clip(a, num_frames=2, size=96, rng=np.random.default_rng(5))
    fb, _ = render_clip(b, num_frames=2, size=96, rng=np.random.default_rng(5))
    face = _box_mask(fa[0].shape, ba[0])
    between = np.abs(fa[0].astype(int) - fb[0].astype(int))[face].mean()
    within = np.abs(fa[0].astype(int) - fa[1].astype(int))[face].mean()
    assert between > 3 * within, (between, within)


def test_render_clip_blinks(monkeypatch):
    """Over a 6 s clip the eyelids close fully, over 2-3 frames, and it shows in the eye region, not the mouth."""
    recorded = {}

    def spy(*args, **kwargs):
        recorded["openness"] = real(*args, **kwargs)
        return recorded["openness"]

    real = faces._blinks
    monkeypatch.setattr(faces, "_blinks", spy)
    _, frames, boxes = _clip(2, num_frames=150, size=96)
    openness = recorded["openness"]
    assert openness.min() < 0.05 and openness.max() == 1.0
    k = int(np.argmin(openness))
    start = k
    while start > 0 and openness[start - 1] < 1.0:
        start -= 1
    assert 2 <= k - start + 1 <= 3, openness[max(0, start - 2) : k + 3]  # closing frames, the closed one included
    x1, y1, x2, y2 = boxes[k]

    def band(i: int, top: float, bottom: float) -> np.ndarray:
        h = y2 - y1
        return frames[i][int(y1 + top * h) : int(y1 + bottom * h), int(x1) : int(x2)].astype(np.float32)

    before = start - 1
    eyes = np.abs(band(k, 0.3, 0.55) - band(before, 0.3, 0.55)).mean()
    mouth = np.abs(band(k, 0.7, 0.95) - band(before, 0.7, 0.95)).mean()
    assert eyes > 1.5 * mouth, (eyes, mouth)


def test_render_clip_bad_arguments():
    who = sample_identity(np.random.default_rng(0))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="num_frames must be >= 1"):
        render_clip(who, num_frames=0, size=64, rng=rng)
    with pytest.raises(ValueError, match="at least 32 x 32"):
        render_clip(who, num_frames=1, size=16, rng=rng)
    with pytest.raises(ValueError, match="too narrow"):
        render_clip(who, num_frames=1, size=(128, 48), rng=rng)


@pytest.mark.shared
def test_yunet_finds_the_rendered_faces():
    """A real face detector sees our faces where our boxes say they are."""
    shared_model = shared_path("models", "yunet")
    model = sorted(shared_model.glob("*.onnx"))
    if not model:
        pytest.skip(f"no YuNet .onnx in {shared_model}")
    detector = cv2.FaceDetectorYN.create(str(model[0]), "", (128, 128), 0.6, 0.3, 20)
    for seed in range(6):
        _, frames, boxes = _clip(seed, num_frames=1, size=128)
        _, found = detector.detect(cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR))
        assert found is not None and len(found), f"seed {seed}: no face found"
        x, y, w, h = found[np.argmax(found[:, -1]), :4]
        ours = boxes[0]
        ix = max(0.0, min(x + w, ours[2]) - max(x, ours[0]))
        iy = max(0.0, min(y + h, ours[3]) - max(y, ours[1]))
        iou = ix * iy / (w * h + (ours[2] - ours[0]) * (ours[3] - ours[1]) - ix * iy)
        assert iou > 0.5, f"seed {seed}: IoU {iou:.2f} between YuNet's box and ours"


# ----------------------------------------------------------------------------------------------- the dataset


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def _decode(path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.fixture(scope="module")
def live_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "live"
    root = write_live_dataset(out, num_subjects=5, videos_per_subject=2, num_frames=4, size=64, seed=3)
    return root


def test_write_live_dataset_writes_a_readable_csv(live_dataset):
    columns, rows = _read_csv(live_dataset / "samples.csv")
    assert tuple(columns) == COLUMNS
    assert len(rows) == 10
    assert {r["label"] for r in rows} == {"0"} and {r["attack_type"] for r in rows} == {"live"}
    assert len({r["video_id"] for r in rows}) == 10
    info = json.loads((live_dataset / "generator.json").read_text())
    assert info["seed"] == 3 and info["codec"] in ("libx264", "mpeg4")
    assert not [p for p in live_dataset.parent.iterdir() if p.name.startswith(".")]  # no staging left over


def test_write_live_dataset_videos_decode_with_their_boxes(live_dataset):
    _, rows = _read_csv(live_dataset / "samples.csv")
    for row in rows[:3]:
        frames = _decode(live_dataset / row["path"])
        assert frames.shape == (4, 64, 64, 3)
        lines = (live_dataset / row["boxes"]).read_text().splitlines()
        values = np.array([[float(v) for v in line.split()] for line in lines])
        assert values.shape == (4, 5)
        np.testing.assert_array_equal(values[:, 0], np.arange(4))
        assert (values[:, 1] < values[:, 3]).all() and (values[:, 3] <= 64).all()


def test_write_live_dataset_splits_are_subject_disjoint(live_dataset):
    _, rows = _read_csv(live_dataset / "samples.csv")
    split_of: dict[str, set[str]] = {}
    for row in rows:
        split_of.setdefault(row["subject"], set()).add(row["split"])
    assert all(len(s) == 1 for s in split_of.values()), split_of
    per_split = [sum(1 for s in split_of.values() if s == {name}) for name in ("train", "dev", "test")]
    assert per_split == [3, 1, 1]


def test_write_live_dataset_opens_with_the_generic_adapter(live_dataset):
    generic = pytest.importorskip("stasn.datasets.generic")
    ds = generic.Generic(live_dataset)
    assert len(ds) == 10 and {s.label for s in ds} == {0} and {s.attack_type for s in ds} == {"live"}
    boxes = ds.annotations(ds[0]).boxes
    assert sorted(boxes) == [0, 1, 2, 3]


def test_write_live_dataset_is_deterministic_and_independent_of_size(tmp_path):
    small = write_live_dataset(
        tmp_path / "a", num_subjects=2, videos_per_subject=1, num_frames=2, size=64, seed=9, splits=(1, 0, 0)
    )
    large = write_live_dataset(
        tmp_path / "b", num_subjects=3, videos_per_subject=2, num_frames=2, size=64, seed=9, splits=(1, 0, 0)
    )
    for name in ("live/subject_000/v00_boxes.txt", "live/subject_001/v00_boxes.txt"):
        assert (small / name).read_text() == (large / name).read_text()


def test_write_live_dataset_refuses_to_clobber(tmp_path):
    stranger = tmp_path / "mine"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="holds no samples.csv"):
        write_live_dataset(
            stranger, num_subjects=1, videos_per_subject=1, num_frames=1, size=64, seed=0, splits=(1, 0, 0)
        )
    out = write_live_dataset(
        tmp_path / "d", num_subjects=1, videos_per_subject=1, num_frames=1, size=64, seed=0, splits=(1, 0, 0)
    )
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_live_dataset(out, num_subjects=1, videos_per_subject=1, num_frames=1, size=64, seed=0, splits=(1, 0, 0))
    write_live_dataset(
        out, num_subjects=1, videos_per_subject=1, num_frames=2, size=64, seed=0, splits=(1, 0, 0), overwrite=True
    )
    assert len(_decode(out / "live/subject_000/v00.mp4")) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "mine"]


def test_write_live_dataset_killed_midway_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = faces.render_clip

    def dies_on_second_clip(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr("stasn.demo.livedata.render_clip", dies_on_second_clip)
    with pytest.raises(KeyboardInterrupt):
        write_live_dataset(
            tmp_path / "live", num_subjects=2, videos_per_subject=1, num_frames=1, size=64, seed=0, splits=(1, 0, 0)
        )
    assert list(tmp_path.iterdir()) == []


def test_write_live_dataset_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="must be even"):
        write_live_dataset(tmp_path / "x", num_subjects=3, videos_per_subject=1, num_frames=1, size=65, seed=0)
    with pytest.raises(ValueError, match="num_subjects must be >= 1"):
        write_live_dataset(tmp_path / "x", num_subjects=0, videos_per_subject=1, num_frames=1, size=64, seed=0)
    with pytest.raises(ValueError, match="cannot fill 3 non-empty splits"):
        write_live_dataset(tmp_path / "x", num_subjects=2, videos_per_subject=1, num_frames=1, size=64, seed=0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("n", "splits", "expected"),
    [
        (10, (0.6, 0.2, 0.2), [6, 2, 2]),
        (3, (0.6, 0.2, 0.2), [1, 1, 1]),
        (4, (1.0, 0.0, 0.0), [4, 0, 0]),
        (7, (0.5, 0.25, 0.25), [3, 2, 2]),
    ],
)
def test_split_subjects_counts(n, splits, expected):
    subjects = [f"s{i}" for i in range(n)]
    assigned = split_subjects(subjects, splits, np.random.default_rng(0))
    assert sorted(assigned) == sorted(subjects)
    assert [list(assigned.values()).count(s) for s in ("train", "dev", "test")] == expected


def test_split_subjects_bad_fractions():
    with pytest.raises(ValueError, match="summing to 1"):
        split_subjects(["a", "b", "c"], (0.5, 0.2, 0.2), np.random.default_rng(0))


def test_write_video_mpeg4_fallback_decodes(tmp_path):
    _, frames, _ = _clip(0, num_frames=3, size=64)
    path = write_video(tmp_path / "clip.mp4", frames, codec="mpeg4")
    decoded = _decode(path)
    assert decoded.shape == frames.shape
    assert np.abs(decoded.astype(int) - frames.astype(int)).mean() < 6  # high quality
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_write_video_is_byte_identical_for_the_same_frames(tmp_path):
    from stasn.demo.livedata import write_video

    frames = np.random.default_rng(0).integers(0, 256, (6, 32, 48, 3), dtype=np.uint8)
    a = write_video(tmp_path / "a.mp4", frames).read_bytes()
    b = write_video(tmp_path / "b.mp4", frames).read_bytes()
    assert a == b, "the demo's videos must be the same for the same seed"
