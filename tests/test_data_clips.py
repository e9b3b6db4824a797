"""stasn.data.clips / augment / datamodule: clip shapes, order, failures, balance, the synthesis hook."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import WeightedRandomSampler

from stasn.data.augment import ClipAugment, brightness_contrast, exposure_gain, hflip, jitter_crop
from stasn.data.clips import ClipDataset, balance_weights
from stasn.data.crop import face_from_highres
from stasn.data.datamodule import CacheDataModule
from stasn.data.manifest import CacheInfo, ManifestRow, write_cache_info, write_manifest
from stasn.data.video import jpeg_roundtrip

INFO = CacheInfo(face_size=16, highres_size=32)


def _value(frame_index: int) -> int:
    return 10 + 20 * (frame_index % 12)  # a grey level that names the frame (JPEG keeps it within +-2)


def make_cache(root, videos):
    """videos: {video_id: (label, attack_type, split, statuses)}; frame i of a video is a flat grey _value(2 * i)."""
    write_cache_info(root, INFO)
    rows = []
    for video_id, (label, attack, split, statuses) in videos.items():
        for i, status in enumerate(statuses):
            frame_index = 2 * i  # sampled every other frame
            row = ManifestRow(
                sample_id=f"{video_id}#{frame_index}", video_id=video_id, dataset="t", source_path="v.mp4",
                frame_index=frame_index, label=label, attack_type=attack, split=split, subject=video_id[:2],
                status=status,
            )  # fmt: skip
            if status == "ok":
                row.highres_path = f"crops/{video_id}/{frame_index:06d}_highres.jpg"
                path = root / row.highres_path
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), np.full((32, 32, 3), _value(frame_index), np.uint8))
            rows.append(row)
    write_manifest(rows, root)
    return root


@pytest.fixture
def cache(tmp_path):
    ok = ["ok"] * 6
    return make_cache(
        tmp_path / "cache",
        {
            "l1": (0, "live", "train", ok),
            "s1": (1, "print", "train", ["ok", "no_face", "ok", "ok", "no_face", "ok"]),
            "s2": (1, "replay", "train", ok),
            "s3": (1, "print", "train", ok),
            "nf": (1, "print", "train", ["no_face", "unreadable"]),
            "d1": (0, "live", "dev", ["ok", "ok"]),
            "t1": (1, "replay", "test", ok),
        },
    )


def _index_of(dataset: ClipDataset, video_id: str) -> int:
    return [dataset.videos[v].video_id for v, _ in dataset.items].index(video_id)


def _grey(clip: torch.Tensor) -> list[int]:
    return [round(float(f.mean()) * 255) for f in clip]


def test_clip_dataset_item_shapes_and_metadata(cache):
    dataset = ClipDataset(cache, "test", num_frames=4)
    item = dataset[0]
    assert item["clips"].shape == (4, 3, 16, 16) and item["clips"].dtype == torch.float32
    assert item["highres"].shape == (4, 3, 32, 32)
    assert 0.0 <= float(item["clips"].min()) and float(item["highres"].max()) <= 1.0
    assert (item["label"], item["attack_type"], item["video_id"], item["subject"]) == (1, "replay", "t1", "t1")
    assert item["sample_id"] == f"t1@{int(item['frame_index'][0])}"
    assert item["synth"] == ""


def test_clip_frames_are_in_order_and_skip_failed_frames(cache):
    dataset = ClipDataset(cache, "train", num_frames=4, clips_per_video=1)
    item = dataset[_index_of(dataset, "s1")]
    assert item["frame_index"].tolist() == [0, 4, 6, 10]  # frames 2 and 8 had no face
    assert _grey(item["highres"]) == pytest.approx([_value(i) for i in (0, 4, 6, 10)], abs=3)
    np.testing.assert_allclose(item["clips"].mean(dim=(1, 2, 3)), item["highres"].mean(dim=(1, 2, 3)), atol=1e-3)


def test_video_without_usable_frames_is_a_failure_not_a_drop(cache):
    dataset = ClipDataset(cache, "train", num_frames=2)
    assert [(f.video_id, f.label, f.attack_type) for f in dataset.failures] == [("nf", 1, "print")]
    assert "no_face" in dataset.failures[0].reason and "unreadable" in dataset.failures[0].reason
    assert "nf" not in {v.video_id for v in dataset.videos}


def test_eval_clips_are_fixed_and_spread(cache):
    dataset = ClipDataset(cache, "test", num_frames=2, clips_per_video=3)
    assert [s for _, s in dataset.items] == [0, 2, 4]
    assert dataset[1]["frame_index"].tolist() == [4, 6]
    short = ClipDataset(cache, "dev", num_frames=5, clips_per_video=3)  # 2 usable frames: one stretched clip
    assert len(short) == 1 and short[0]["frame_index"].tolist() == [0, 0, 0, 2, 2]


def test_random_start_clips_are_contiguous_and_vary(cache):
    dataset = ClipDataset(cache, "test", num_frames=3, random_start=True)
    assert len(dataset) == 1
    torch.manual_seed(0)
    starts = set()
    for _ in range(30):
        frames = dataset[0]["frame_index"].tolist()
        assert frames == [frames[0], frames[0] + 2, frames[0] + 4]
        starts.add(frames[0])
    assert starts == {0, 2, 4, 6}


def test_balance_weights_math():
    labels = [0, 1, 1, 1]
    np.testing.assert_allclose(balance_weights(labels), [1, 1 / 3, 1 / 3, 1 / 3])
    w = balance_weights(labels, synth_fraction=0.25)
    live, spoof = w[0] * (1 - 0.25), w[1:].sum() + w[0] * 0.25  # expected draws after synthesis
    assert live == pytest.approx(spoof)
    np.testing.assert_allclose(balance_weights([0, 0, 0]), [1, 1, 1])
    with pytest.raises(ValueError, match="cannot be balanced"):
        balance_weights(labels, synth_fraction=0.5)


def test_balance_weights_with_sizes_draw_by_size_within_each_class():
    w = balance_weights([0, 0, 1, 1], sizes=[1, 3, 2, 2])
    np.testing.assert_allclose(w, [1 / 4, 3 / 4, 1 / 2, 1 / 2])  # each class sums to 1, live split 1:3
    w = balance_weights([0, 0, 1], synth_fraction=0.25, sizes=[1, 3, 5])
    live, spoof = w[:2].sum() * 0.75, w[2] + w[:2].sum() * 0.25
    assert live == pytest.approx(spoof)


def test_sample_by_frames_draws_long_videos_more_often(tmp_path):
    cache = make_cache(
        tmp_path / "c",
        {
            "long": (0, "live", "train", ["ok"] * 8),  # 4 clips of T=2
            "still": (0, "live", "train", ["ok"]),  # 1 clip
            "s1": (1, "replay", "train", ["ok"] * 4),  # 2 clips
            "d1": (0, "live", "dev", ["ok"] * 2),
            "d2": (1, "print", "dev", ["ok"] * 2),
        },
    )
    by_video = CacheDataModule(cache, num_frames=2, num_workers=0, balance=True, seed=0)
    by_frames = CacheDataModule(cache, num_frames=2, num_workers=0, balance=True, seed=0, sample_by="frames")
    for dm in (by_video, by_frames):
        dm.setup("fit")
    assert len(by_video.train_dataloader().sampler) == 3 and len(by_frames.train_dataloader().sampler) == 7
    weights = by_frames.train_dataloader().sampler.weights.numpy()
    order = [v.video_id for v in by_frames.train_set.videos]
    assert weights[order.index("long")] == pytest.approx(4 * weights[order.index("still")])
    with pytest.raises(ValueError, match="Unknown sample_by 'clips'"):
        CacheDataModule(cache, num_frames=2, sample_by="clips")


def test_weighted_sampler_balances_live_and_spoof(cache):
    dataset = ClipDataset(cache, "train", num_frames=2, random_start=True)
    assert sorted(dataset.labels) == [0, 1, 1, 1]
    generator = torch.Generator().manual_seed(0)
    sampler = WeightedRandomSampler(torch.as_tensor(balance_weights(dataset.labels)), 4000, generator=generator)
    drawn = np.asarray(dataset.labels)[list(sampler)]
    assert 0.46 < drawn.mean() < 0.54


def invert(frames, rng):
    return 255 - frames, "replay-synth", {"gamma": float(rng.uniform(1, 2))}


def test_synth_transform_turns_live_clips_into_attacks(cache):
    dataset = ClipDataset(cache, "train", num_frames=2, synth_transform=invert, synth_fraction=1.0, seed=3)
    items = [dataset[i] for i in range(len(dataset))]
    live = [it for it in items if it["video_id"] == "l1"][0]
    assert (live["label"], live["attack_type"]) == (1, "replay-synth")
    assert "gamma" in json.loads(live["synth"])
    plain = ClipDataset(cache, "train", num_frames=2, seed=3)[_index_of(dataset, "l1")]
    torch.testing.assert_close(live["highres"], 1 - plain["highres"], atol=1e-6, rtol=0)
    inverted = (255 - plain["highres"] * 255).round().byte().permute(0, 2, 3, 1).numpy()  # (T, H, W, 3) uint8
    faces = np.stack([face_from_highres(f, 16) for f in inverted])
    torch.testing.assert_close(live["clips"], torch.from_numpy(faces).permute(0, 3, 1, 2).float() / 255)
    assert all(it["synth"] == "" for it in items if it["video_id"] != "l1")  # spoof clips untouched


def test_synth_fraction_zero_never_calls_the_transform(cache):
    def boom(frames, rng):
        raise AssertionError("called")

    dataset = ClipDataset(cache, "train", num_frames=2, synth_transform=boom, synth_fraction=0.0)
    assert all(dataset[i]["synth"] == "" for i in range(len(dataset)))


@pytest.mark.parametrize(
    "transform, message",
    [
        (lambda f, rng: (f[:1], "replay-synth", {}), "must return uint8 frames"),
        (lambda f, rng: (f, "live", {}), "not an attack"),
    ],
)
def test_synth_transform_bad_output(cache, transform, message):
    dataset = ClipDataset(cache, "train", num_frames=2, synth_transform=transform, synth_fraction=1.0)
    with pytest.raises(ValueError, match=message):
        dataset[_index_of(dataset, "l1")]


def test_clip_dataset_bad_arguments(cache):
    with pytest.raises(ValueError, match="needs a synth_transform"):
        ClipDataset(cache, "train", 2, synth_fraction=0.5)
    with pytest.raises(FileNotFoundError, match="cache.json"):
        ClipDataset(cache / "nowhere", "train", 2)


def test_augment_parts():
    frames = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(hflip(frames)[:, :, 0], frames[:, :, -1])
    assert jitter_crop(frames, 1.0, 0.5, 0.5) is frames
    cropped = jitter_crop(frames, 0.5, -1, -1)  # top-left 16x16 enlarged back to 32x32
    assert cropped.shape == frames.shape
    np.testing.assert_array_equal(brightness_contrast(frames, 0.0, 1.0), frames)
    assert brightness_contrast(np.full((1, 2, 2, 3), 100, np.uint8), 0.1, 1.0).max() == 126


def test_clip_augment_is_mild_deterministic_and_shape_preserving():
    frames = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    augment = ClipAugment()
    a = augment(frames, np.random.default_rng(5))
    b = augment(frames, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == frames.shape and a.dtype == np.uint8
    with pytest.raises(ValueError, match="stay mild"):
        ClipAugment(brightness=0.6)


def test_exposure_and_jpeg_options_change_every_frame_alike():
    flat = np.full((3, 16, 16, 3), 100, np.uint8)
    np.testing.assert_array_equal(exposure_gain(flat, 1.5), np.full_like(flat, 150))
    assert exposure_gain(flat, 4.0).max() == 255  # clipped, not wrapped
    gains = set()
    augment = ClipAugment(flip=0, jitter=0, brightness=0, contrast=0, exposure=1.0)
    for seed in range(20):
        out = augment(flat, np.random.default_rng(seed))
        assert (out == out[0, 0, 0, 0]).all()  # one gain for the whole clip
        gains.add(int(out[0, 0, 0, 0]))
    assert min(gains) >= 50 and max(gains) <= 200 and len(gains) > 10  # gain in [1/2, 2]
    noisy = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    always = ClipAugment(flip=0, jitter=0, brightness=0, contrast=0, jpeg=1.0, jpeg_quality=(30, 30))
    np.testing.assert_array_equal(always(noisy, np.random.default_rng(0)), jpeg_roundtrip(noisy, 30))
    assert np.abs(jpeg_roundtrip(noisy, 30).astype(int) - noisy).mean() > 5
    with pytest.raises(ValueError, match="jpeg is a probability"):
        ClipAugment(jpeg=1.5)


def test_datamodule_loaders(cache):
    dm = CacheDataModule(cache, num_frames=2, batch_size=2, num_workers=0, balance=True, seed=0)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["clips"].shape == (2, 2, 3, 16, 16) and batch["highres"].shape == (2, 2, 3, 32, 32)
    assert batch["label"].dtype == torch.int64 and len(batch["video_id"]) == 2
    assert isinstance(dm.train_dataloader().sampler, WeightedRandomSampler)
    assert {v.video_id for v in dm.val_set.videos} == {"d1"}  # val = the dev split
    assert dm.class_counts() == {"live": 1, "spoof": 3}
    dm.setup("test")
    assert next(iter(dm.test_dataloader()))["video_id"][0] == "t1"


def test_datamodule_without_train_clips_is_an_error(tmp_path):
    cache = make_cache(tmp_path / "c", {"t1": (1, "replay", "test", ["ok"])})
    with pytest.raises(ValueError, match="no usable train clips"):
        CacheDataModule(cache, num_frames=2, num_workers=0).setup("fit")


def test_train_clips_per_video_sets_the_epoch_length(tmp_path):
    from stasn.data.datamodule import CacheDataModule
    from tiny import make_tiny_cache

    cache = make_tiny_cache(tmp_path / "cache", face_size=32, highres_size=64, no_face_video=False)
    for balance in (True, False):
        module = CacheDataModule(
            cache, num_frames=2, batch_size=4, num_workers=0, balance=balance, train_clips_per_video=3
        )
        module.setup("fit")
        assert len(module.train_dataloader().sampler) == 3 * len(module.train_set)


def test_training_subjects_seen_as_attacks_only_are_named(tmp_path, caplog):
    from stasn.data.manifest import one_class_subjects

    assert one_class_subjects([("a", 0), ("a", 1), ("b", 1), ("c", 0), ("", 1)]) == {"b": 1, "c": 0}
    cache = make_cache(
        tmp_path,
        {  # subject = the first two characters: "pa" both classes, "pb" printed only, "pc" live only
            "pa1": (0, "live", "train", ["ok"] * 2),
            "pa2": (1, "print", "train", ["ok"] * 2),
            "pb1": (1, "print", "train", ["ok"] * 2),
            "pc1": (0, "live", "train", ["ok"] * 2),
            "pd1": (1, "print", "dev", ["ok"] * 2),
        },
    )
    with caplog.at_level("WARNING", logger="stasn.data.datamodule"):
        CacheDataModule(cache, num_frames=2, num_workers=0).setup("fit")
    assert "1 training subject(s) appear as attacks only (pb)" in caplog.text and "pd" not in caplog.text
