"""SimulateCamera: live clips re-filmed by a random camera, and its hook in ClipDataset; the camera's tone curve."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stasn.data.clips import ClipDataset
from stasn.synth.camera import SimulateCamera, srgb_to_linear_image
from tiny import make_tiny_cache


def _clip(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 220, (1, 64, 64, 3), dtype=np.uint8)
    return np.repeat(base, 3, axis=0)


def test_simulate_camera_keeps_shape_and_is_deterministic():
    frames = _clip()
    a = SimulateCamera()(frames, np.random.default_rng(7))
    b = SimulateCamera()(frames, np.random.default_rng(7))
    assert a.shape == frames.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, frames)


def test_simulate_camera_rejects_bad_input():
    with pytest.raises(ValueError, match=r"expected uint8 frames \[T, H, W, 3\]"):
        SimulateCamera()(np.zeros((64, 64, 3), np.uint8), np.random.default_rng(0))


def test_srgb_to_linear_endpoints():
    lin = srgb_to_linear_image(np.array([[[0, 128, 255]]], np.uint8))
    assert lin[0, 0, 0] == 0 and lin[0, 0, 2] == pytest.approx(1.0)
    assert lin[0, 0, 1] == pytest.approx(0.2158, abs=1e-3)


def test_clip_dataset_films_live_clips_only(tmp_path):
    cache = make_tiny_cache(tmp_path / "cache", face_size=32, highres_size=64, no_face_video=False)
    calls = []

    def camera(frames, rng):
        calls.append(frames.shape)
        return np.zeros_like(frames)

    plain = ClipDataset(cache, "train", 2, seed=0)
    filmed = ClipDataset(cache, "train", 2, seed=0, camera_transform=camera, camera_fraction=1.0)
    for i in range(len(filmed)):
        item, original = filmed[i], plain[i]
        assert item["label"] == original["label"], "the camera never changes the label"
        if item["label"] == 0:
            assert float(item["highres"].abs().max()) == 0.0
        else:
            assert float(item["highres"].abs().max()) > 0.0
    assert len(calls) == sum(1 for label in plain.labels if label == 0)
    with pytest.raises(ValueError, match="camera_fraction=0.5"):
        ClipDataset(cache, "train", 2, camera_fraction=0.5)


def test_datamodule_passes_the_camera_to_training_clips(tmp_path):
    from stasn.data.datamodule import CacheDataModule

    cache = make_tiny_cache(tmp_path / "cache", face_size=32, highres_size=64, no_face_video=False)
    calls = []

    def camera(frames, rng):
        calls.append(1)
        return frames

    module = CacheDataModule(
        cache, num_frames=2, batch_size=4, num_workers=0, camera_transform=camera, camera_fraction=1.0
    )
    module.setup("fit")
    for i in range(len(module.train_set)):
        module.train_set[i]
    assert len(calls) == sum(1 for label in module.train_set.labels if label == 0) > 0
    assert module.val_set.camera_transform is None, "dev and test clips are never re-filmed"


def test_tone_lut_contrast_is_an_s_around_mid_grey():
    from stasn.synth import capture as cam

    plain, s_curve = cam.tone_lut(2.2).astype(int), cam.tone_lut(2.2, 1.0).astype(int)
    np.testing.assert_array_equal(cam.tone_lut(2.2, 0.0), cam.tone_lut(2.2))  # 0 = the plain encoding curve
    assert (np.diff(s_curve) >= 0).all()  # monotonic
    assert s_curve[0] == 0 and s_curve[-1] == 255
    mid = int(np.argmin(np.abs(plain - 128)))  # linear value encoded as mid-grey: stays there
    assert abs(s_curve[mid] - plain[mid]) <= 1
    dark, bright = int(np.argmin(np.abs(plain - 64))), int(np.argmin(np.abs(plain - 192)))
    # smoothstep(0.25) = 0.156, smoothstep(0.75) = 0.844: darker shadows, brighter highlights, same mid-grey
    assert s_curve[dark] == pytest.approx(255 * 0.156, abs=2) and s_curve[bright] == pytest.approx(255 * 0.844, abs=2)
    with pytest.raises(ValueError, match="tone contrast"):
        cam.tone_lut(2.2, 1.5)


def test_capture_tone_contrast_is_drawn_recorded_and_applied():
    from stasn.synth.recapture import CaptureParams, CaptureRanges, capture_clip

    a = CaptureRanges(tone_contrast=(0.3, 0.6)).sample(np.random.default_rng(5))
    b = CaptureRanges(tone_contrast=(0.3, 0.6)).sample(np.random.default_rng(5))
    assert a == b and 0.3 <= a.tone_contrast <= 0.6 and "tone_contrast" in dataclasses.asdict(a)
    # The draws before it keep their values (it is drawn last).
    c = CaptureRanges(tone_contrast=(0.0, 0.0)).sample(np.random.default_rng(5))
    assert dataclasses.replace(c, tone_contrast=a.tone_contrast) == a
    ramp = np.tile(np.linspace(0.02, 0.6, 64, dtype=np.float32)[None, :, None], (64, 1, 3))
    clean = {"demosaic": "none", "codec": "none", "sensor_px": 64}
    flat = capture_clip([ramp], CaptureParams(**clean), (64, 64))[0].astype(float)
    punchy = capture_clip([ramp], CaptureParams(**clean, tone_contrast=1.0), (64, 64))[0].astype(float)
    assert punchy.std() > 1.1 * flat.std()  # more contrast
    assert abs(punchy.mean() - flat.mean()) < 10  # not a brightening
    with pytest.raises(ValueError, match="tone_contrast must be in"):
        CaptureParams(tone_contrast=-0.1)


def test_capture_isp_denoise_is_drawn_last_recorded_and_smooths_noise_not_edges():
    from stasn.synth.recapture import CaptureParams, CaptureRanges, capture_clip

    a = CaptureRanges(isp_denoise=(3.0, 15.0)).sample(np.random.default_rng(6))
    assert 3.0 <= a.isp_denoise <= 15.0 and "isp_denoise" in dataclasses.asdict(a)
    off = CaptureRanges().sample(np.random.default_rng(6))  # the default: none, and no draw taken
    assert off.isp_denoise == 0.0 and dataclasses.replace(off, isp_denoise=a.isp_denoise) == a
    # A noisy frame, half dark half bright: the noise goes, the edge stays.
    half = np.where(np.arange(64)[None, :, None] < 32, 0.05, 0.4).astype(np.float32) * np.ones((64, 64, 3), np.float32)
    noisy = {"demosaic": "none", "codec": "none", "sensor_px": 64, "read_noise": 0.01, "noise_seed": 3}
    raw = capture_clip([half], CaptureParams(**noisy), (64, 64))[0].astype(float)
    smooth = capture_clip([half], CaptureParams(**noisy, isp_denoise=20.0), (64, 64))[0].astype(float)
    assert smooth[:, 40:60].std() < 0.6 * raw[:, 40:60].std()
    step = lambda im: im[:, 36:60].mean() - im[:, 4:28].mean()  # noqa: E731
    assert step(smooth) == pytest.approx(step(raw), abs=3.0)
    with pytest.raises(ValueError, match="isp_denoise must be in"):
        CaptureParams(isp_denoise=-1.0)
    with pytest.raises(ValueError, match="isp_denoise"):
        CaptureRanges(isp_denoise=(0.0, 500.0))


def test_capture_chroma_denoise_is_drawn_last_recorded_and_smooths_colour_not_brightness():
    import cv2

    from stasn.synth.capture import chroma_smooth
    from stasn.synth.recapture import CaptureParams, CaptureRanges, capture_clip

    a = CaptureRanges(chroma_denoise=(0.5, 3.0)).sample(np.random.default_rng(6))
    assert 0.5 <= a.chroma_denoise <= 3.0 and "chroma_denoise" in dataclasses.asdict(a)
    off = CaptureRanges().sample(np.random.default_rng(6))  # the default: none, and every other draw unchanged
    assert off.chroma_denoise == 0.0 and dataclasses.replace(off, chroma_denoise=a.chroma_denoise) == a
    # Colour stripes of equal brightness (a colour moire): the colour goes, a brightness edge stays.
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, 0::4] = (150, 100, 100)
    stripes[:, 1::4] = (100, 118, 100)
    stripes[:, 2::4] = (100, 100, 160)
    stripes[:, 3::4] = (118, 118, 118)
    stripes[32:] //= 2
    out = chroma_smooth(stripes, 2.0)
    chroma = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb)[4:28, 8:56, 1:].astype(float).std()  # noqa: E731
    luma = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb)[..., 0].astype(float)  # noqa: E731
    assert chroma(out) < 0.3 * chroma(stripes)
    assert np.abs(luma(out) - luma(stripes)).mean() < 1.5
    assert chroma_smooth(stripes, 0.0) is stripes
    # In the camera: the same capture with it is less colourful, and it is validated.
    linear = srgb_to_linear_image(stripes)
    plain = {"demosaic": "none", "codec": "none", "sensor_px": 64}
    raw = capture_clip([linear], CaptureParams(**plain), (64, 64))[0]
    smooth = capture_clip([linear], CaptureParams(**plain, chroma_denoise=2.0), (64, 64))[0]
    assert chroma(smooth) < 0.5 * chroma(raw)
    with pytest.raises(ValueError, match="chroma_denoise must be in"):
        CaptureParams(chroma_denoise=-1.0)
    with pytest.raises(ValueError, match="chroma_denoise"):
        CaptureRanges(chroma_denoise=(0.0, 50.0))
    with pytest.raises(ValueError, match="sigma"):
        chroma_smooth(stripes, -1.0)
