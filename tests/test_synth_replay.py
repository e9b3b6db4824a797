"""Screen-replay synthesis: reproducibility, geometry, the physical moire path, clips, bad input."""

from __future__ import annotations

import dataclasses
import json
import math

import cv2
import numpy as np
import pytest

from stasn.synth import ReplayParams, ReplayRanges, ReplaySynthesizer
from stasn.synth.capture import balance_toward, denoise, limit_resolution
from stasn.synth.geometry import Pose, mirror_direction
from stasn.synth.recapture import CaptureParams, CaptureRanges, ViewParams
from stasn.testing.faces import draw_face, face_clip

SMALL = ReplayRanges(capture=CaptureRanges(sensor_px=(48.0, 96.0)))  # keeps every test render small
# The content's white balance is drawn after everything else: fixed, it takes no draw (for the drawn-last tests).
NO_BALANCE = dict(content_balance=(0.0, 0.0), content_red_green=(1.28, 1.28), content_blue_green=(0.97, 0.97))


def _ideal(params: ReplayParams, **capture) -> ReplayParams:
    """The same attack with the camera's noise and codec switched off (a clean signal to measure)."""
    fields = {"shot_noise": 0.0, "read_noise": 0.0, "codec": "none", "sharpen": 0.0, **capture}
    return dataclasses.replace(params, capture=dataclasses.replace(params.capture, **fields))


def _frontal(q: float, n: int = 128, **capture) -> ReplayParams:
    """A phone held straight in front of the camera whose panel has ``q`` panel pixels per sensor pixel."""
    face_scale, screen_w = 0.8, 68.0
    ppi = q * n / (face_scale * screen_w) * 25.4  # n sensor px span the face image, face_scale * screen_w mm wide
    return ReplayParams(
        layout="rgb-stripe",
        ppi=ppi,
        face_scale=face_scale,
        screen_mm=(screen_w, 150.0),
        view=ViewParams(pose=Pose(distance=6.0)),
        capture=CaptureParams(sensor_px=n, codec="none", **capture),
    )


def _line_spectrum(image: np.ndarray) -> np.ndarray:
    """Power of the grey image along the horizontal frequency axis (rows near fy = 0), Hann-windowed."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    grey -= grey.mean()
    window = np.hanning(grey.shape[0])[:, None] * np.hanning(grey.shape[1])[None, :]
    power = np.abs(np.fft.fft2(grey * window)) ** 2
    return power[:2].sum(axis=0) + power[-1:].sum(axis=0)


def _peak_ratio(line: np.ndarray, k: int) -> float:
    """Power at frequency bin ``k`` (+-1) over the median power of the band above the lowest frequencies."""
    n = line.size
    return float(line[k - 1 : k + 2].max() / np.median(line[6 : n // 2]))


def test_replay_same_seed_same_output() -> None:
    synth = ReplaySynthesizer(SMALL)
    face = draw_face(64, seed=1)
    p1 = synth.sample_params(np.random.default_rng(7))
    p2 = synth.sample_params(np.random.default_rng(7))
    assert p1 == p2
    np.testing.assert_array_equal(synth.apply(face, p1), synth.apply(face, p2))
    p3 = synth.sample_params(np.random.default_rng(8))
    assert p3 != p1


def test_replay_params_record_round_trip() -> None:
    synth = ReplaySynthesizer(SMALL)
    params = synth.sample_params(np.random.default_rng(3))
    record = json.loads(json.dumps(params.to_dict()))  # what a manifest row stores
    again = ReplayParams.from_dict(record)
    assert again == params
    face = draw_face(64, seed=2)
    np.testing.assert_array_equal(synth.apply(face, again), synth.apply(face, params))


def test_replay_output_shape_and_dtype() -> None:
    synth = ReplaySynthesizer(SMALL)
    out, params = synth(draw_face(80, seed=0), np.random.default_rng(0))
    assert out.shape == (80, 80, 3) and out.dtype == np.uint8
    assert isinstance(params, ReplayParams)


@pytest.mark.parametrize("seed", range(40))
def test_replay_face_lands_inside_screen_quadrilateral(seed: int) -> None:
    synth = ReplaySynthesizer()
    params = synth.sample_params(np.random.default_rng(seed))
    for geom in synth.geometry(params, (256, 256), num_frames=3):
        screen = geom.screen.astype(np.float32)
        for x, y in geom.face:
            # Signed distance in pixels (> 0 inside); the face box may touch the screen edge.
            assert cv2.pointPolygonTest(screen, (float(x), float(y)), True) > -0.01, (seed, geom.face, geom.screen)
        # The face is framed like a detector crop: its centre is near the middle of the output.
        assert np.allclose(geom.face.mean(axis=0), 127.5, atol=40)


def test_replay_face_pixels_come_from_the_screen() -> None:
    # A flat green "face" on a frontal phone, screen edge inside the crop: the face centre is green, the
    # background (outside the device) is not.
    params = dataclasses.replace(_frontal(0.3, n=96), face_scale=1.1, bezel_colour="white", bezel_mm=(8, 8, 8, 8))
    image = np.zeros((96, 96, 3), np.uint8)
    image[..., 1] = 200
    out = ReplaySynthesizer().apply(image, params)
    geom = ReplaySynthesizer().geometry(params, (96, 96))[0]
    cx, cy = np.round(geom.face.mean(axis=0)).astype(int)
    r, g, b = out[cy, cx].astype(int)
    assert g > r + 40 and g > b + 40
    assert cv2.pointPolygonTest(geom.screen.astype(np.float32), (0.0, 48.0), False) < 0  # the edge is in view


@pytest.mark.parametrize("q", [0.8, 1.25, 2.3])
@pytest.mark.parametrize("demosaic", ["none", "bilinear"])
def test_physical_moire_at_predicted_beat_frequency(q: float, demosaic: str) -> None:
    """Sampling an RGB-stripe panel of ``q`` panel px per sensor px aliases to |q - round(q)| cycles/px."""
    n = 128
    params = _frontal(q, n=n, demosaic=demosaic)
    assert ReplaySynthesizer().geometry(params, (n, n))[0].panel_px_per_sensor_px == pytest.approx(q, rel=1e-3)
    k = int(round(abs(q - round(q)) * n))  # the beat frequency, in FFT bins of n samples
    # A flat grey panel: the strongest structure of the capture is the beat itself.
    flat = _line_spectrum(ReplaySynthesizer().apply(np.full((n, n, 3), 128, np.uint8), params))
    assert int(np.argmax(flat[6 : n // 2])) + 6 in (k - 1, k, k + 1) or _peak_ratio(flat, k) > 50
    assert _peak_ratio(flat, k) > 20
    # A face: at the beat frequency the capture has far more energy than a plain resize of the same content,
    # unlike at other frequencies (where blur and sampling leave it with less).
    face = draw_face(n, seed=3)
    moire = _line_spectrum(ReplaySynthesizer().apply(face, params))
    plain = _line_spectrum(cv2.resize(face, (n, n), interpolation=cv2.INTER_AREA))
    gain = moire / plain
    elsewhere = np.median([gain[i] for i in range(6, n // 2) if abs(i - k) > 3])
    at_beat = moire[k - 1 : k + 2].max() / plain[k - 1 : k + 2].max()
    assert at_beat > 4 and at_beat > 8 * elsewhere, (at_beat, elsewhere)


def test_moire_fades_with_a_soft_lens_but_survives_some_defocus() -> None:
    n = 128
    flat = np.full((n, n, 3), 128, np.uint8)
    sharp = ReplaySynthesizer().apply(flat, _frontal(1.25, n=n)).astype(float).std()
    soft = ReplaySynthesizer().apply(flat, _frontal(1.25, n=n, lens_cutoff=1.2)).astype(float).std()
    # A defocus disk 1.3 px across passes the 1.25 cycles/px panel through its first side lobe (sign flipped).
    disk = ReplaySynthesizer().apply(flat, _frontal(1.25, n=n, defocus=1.3)).astype(float).std()
    assert soft < 0.2 * sharp  # 1.25 cycles/px is beyond this lens's cutoff
    assert disk > 5 * soft


def test_pentile_layout_renders() -> None:
    params = dataclasses.replace(_frontal(1.25, n=64), layout="pentile-diamond")
    out = ReplaySynthesizer().apply(np.full((64, 64, 3), 128, np.uint8), params)
    assert out.std() > 1.0  # the sub-pixel pattern aliases into visible structure


def test_replay_clip_pose_changes_within_jitter_bound() -> None:
    synth = ReplaySynthesizer(SMALL)
    params = synth.sample_params(np.random.default_rng(11))
    view = params.view
    poses = view.poses(12)
    assert poses[0] == view.pose
    for a, b in zip(poses, poses[1:], strict=False):
        for name in ("yaw", "pitch", "roll"):
            assert abs(getattr(b, name) - getattr(a, name)) <= view.jitter_angle + 1e-9
        for name in ("off_x", "off_y"):
            assert abs(getattr(b, name) - getattr(a, name)) <= view.jitter_shift + 1e-9
        assert abs(b.distance / a.distance - 1) <= view.jitter_zoom * (1 + 1e-6) + 1e-12


def test_replay_clip_is_temporally_coherent() -> None:
    synth = ReplaySynthesizer(SMALL)
    clip = face_clip(6, 64, seed=4)
    params = _ideal(synth.sample_params(np.random.default_rng(5)))
    out = synth.apply(clip, params)
    assert out.shape == clip.shape and out.dtype == np.uint8
    step = np.mean([np.abs(out[t + 1].astype(float) - out[t]).mean() for t in range(5)])
    other = synth.apply(clip, _ideal(synth.sample_params(np.random.default_rng(6))))
    across = np.abs(other[0].astype(float) - out[0]).mean()
    assert step < 0.5 * across


def test_reflections_sweep_twice_the_tilt() -> None:
    x0, _ = mirror_direction(Pose(yaw=0.0, distance=5.0))
    x1, _ = mirror_direction(Pose(yaw=3.0, distance=5.0))
    assert abs(x1 - x0) == pytest.approx(6.0, abs=0.05)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ReplayRanges(face_scale=(0.9, 0.5)), r"ReplayRanges.face_scale: expected \(low, high\)"),
        (lambda: ReplayRanges(devices={"tv": 1.0}), "unknown choice 'tv'"),
        (lambda: ReplayRanges(hand_probability=1.5), "hand_probability: expected a probability"),
        (lambda: ReplayRanges(capture=CaptureRanges(supersample=0)), "supersample: expected an integer"),
        (lambda: CaptureRanges(sensor_scale=(1.0, 0.5)), r"CaptureRanges.sensor_scale: expected \(low, high\)"),
        (lambda: CaptureRanges(sensor_scale=(0.0, 0.5)), "CaptureRanges.sensor_scale"),
        (lambda: ReplayParams(ppi=-1.0), "ReplayParams.ppi must be > 0"),
        (lambda: ReplayParams(layout="delta"), "layout 'delta' unknown"),
        (lambda: ReplayParams(face_scale=2.0), "puts the face"),
        (lambda: CaptureParams(sensor_px=15), "sensor_px must be an even number >= 16"),
        (lambda: CaptureParams(codec="av1"), "codec: unknown 'av1'"),
        (lambda: Pose(distance=0.1), "Pose.distance must be > 0.5"),
        (lambda: ReplayParams.from_dict({"ppi": 300, "colour": "red"}), r"unknown parameter\(s\) \['colour'\]"),
    ],
)
def test_invalid_parameters_fail_clearly(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "image",
    [np.zeros((32, 32, 3), np.float32), np.zeros((32, 32), np.uint8), np.zeros((8, 8, 3), np.uint8)],
)
def test_replay_rejects_bad_images(image: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected"):
        ReplaySynthesizer().apply(image, ReplayParams())


def test_auto_exposure_meters_the_room_around_the_screen() -> None:
    from stasn.synth.capture import auto_exposure_gain

    image = np.full((32, 32, 3), 0.4, np.float32)
    assert auto_exposure_gain(image, 0.2) == pytest.approx(0.5)  # the crop alone
    assert auto_exposure_gain(image, 0.2, share=1.0, surround=0.9) == pytest.approx(0.5)
    # Half the meter on a room at 0.04: metered 0.22, so the screen comes out 0.4 * 0.2 / 0.22 = 0.36, not 0.2.
    assert auto_exposure_gain(image, 0.2, share=0.5, surround=0.04) == pytest.approx(0.2 / 0.22)
    with pytest.raises(ValueError, match="share"):
        auto_exposure_gain(image, 0.2, share=0.0)


def test_replay_meter_share_is_drawn_last_recorded_and_brightens_a_screen_in_a_dim_room() -> None:
    rng = lambda: np.random.default_rng(11)  # noqa: E731
    fixed = dataclasses.replace(SMALL, content_denoise=(0.0, 0.0), **NO_BALANCE)  # drawn after it: fixed, no draw
    plain = ReplaySynthesizer(dataclasses.replace(fixed, meter_share=(1.0, 1.0))).sample_params(rng())
    metered = ReplaySynthesizer(dataclasses.replace(fixed, meter_share=(0.3, 0.6))).sample_params(rng())
    assert plain.meter_share == 1.0 and 0.3 <= metered.meter_share <= 0.6
    assert dataclasses.replace(metered, meter_share=1.0) == plain  # every other draw unchanged
    assert 0.1 <= ReplaySynthesizer(SMALL).sample_params(rng()).meter_share <= 0.6  # the default: over-exposed
    assert ReplayParams.from_dict(json.loads(json.dumps(metered.to_dict()))) == metered
    face = draw_face(64, seed=4)
    dim = dataclasses.replace(
        _ideal(_frontal(0.5, n=64)), reflection=dataclasses.replace(plain.reflection, room_level=0.05, reflectance=0.0)
    )
    base = ReplaySynthesizer().apply(face, dim).astype(float).mean()
    bright = ReplaySynthesizer().apply(face, dataclasses.replace(dim, meter_share=0.4)).astype(float).mean()
    assert bright > base + 20
    with pytest.raises(ValueError, match="meter_share"):
        ReplayParams(meter_share=0.0)


def test_replay_content_balance_is_drawn_last_recorded_and_moves_the_face_colour_only_towards_its_target() -> None:
    rng = lambda: np.random.default_rng(13)  # noqa: E731
    plain = ReplaySynthesizer(dataclasses.replace(SMALL, **NO_BALANCE)).sample_params(rng())
    balanced = ReplaySynthesizer(dataclasses.replace(SMALL, content_balance=(0.5, 1.0))).sample_params(rng())
    assert plain.content_balance == 0.0 and 0.5 <= balanced.content_balance <= 1.0
    assert ReplaySynthesizer(SMALL).sample_params(rng()).content_balance == 0.0  # off by default
    assert 1.1 <= balanced.content_red_green <= 1.45 and 0.85 <= balanced.content_blue_green <= 1.05
    reset = dict(content_balance=0.0, content_red_green=1.28, content_blue_green=0.97)
    assert dataclasses.replace(balanced, **reset) == plain  # every other draw unchanged
    assert ReplayParams.from_dict(json.loads(json.dumps(balanced.to_dict()))) == balanced

    def ratios(image: np.ndarray) -> tuple[float, float, float]:
        m = image[16:48, 16:48].reshape(-1, 3).astype(float).mean(axis=0) + 1.0
        return m[0] / m[1], m[2] / m[1], float(m @ [0.2126, 0.7152, 0.0722])

    # A pink-lit face (red / green 1.6, blue / green 1.1): all the way to the target, half way (in log) at 0.5; the
    # centre's luma is kept; nothing when the strength is 0.
    pink = np.zeros((64, 64, 3), np.uint8)
    pink[...] = (176, 110, 121)
    red, blue, luma = ratios(balance_toward(pink, 1.2, 0.9, 1.0))
    assert red == pytest.approx(1.2, abs=0.02) and blue == pytest.approx(0.9, abs=0.02)
    assert luma == pytest.approx(ratios(pink)[2], abs=1.0)
    half = ratios(balance_toward(pink, 1.2, 0.9, 0.5))
    assert half[0] == pytest.approx(math.sqrt(ratios(pink)[0] * 1.2), abs=0.02)
    assert balance_toward(pink, 1.2, 0.9, 0.0) is pink
    # In a render: the same parameters with and without it differ, and every value is validated.
    face = draw_face(64, seed=5)
    params = _ideal(_frontal(0.5, n=64))
    a = ReplaySynthesizer().apply(face, params)
    b = ReplaySynthesizer().apply(face, dataclasses.replace(params, **{**reset, "content_balance": 1.0}))
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.2
    with pytest.raises(ValueError, match="content_balance"):
        ReplayParams(content_balance=1.5)
    with pytest.raises(ValueError, match="content_red_green"):
        ReplayParams(content_red_green=0.0)
    with pytest.raises(ValueError, match="content_balance"):
        ReplayRanges(content_balance=(0.0, 2.0))
    with pytest.raises(ValueError, match="strength"):
        balance_toward(pink, 1.2, 0.9, -0.1)


def test_replay_recording_resolution_and_sharpening_are_drawn_last_recorded_and_act_on_the_content() -> None:
    rng = lambda: np.random.default_rng(14)  # noqa: E731
    plain = ReplaySynthesizer(SMALL).sample_params(rng())
    assert plain.content_face_px == 0.0 and plain.content_sharpen == 0.0  # off by default
    ranges = dataclasses.replace(SMALL, content_face_px=(30.0, 300.0), content_sharpen=(0.0, 1.5))
    drawn = ReplaySynthesizer(ranges).sample_params(rng())
    assert 30.0 <= drawn.content_face_px <= 300.0 and 0.0 <= drawn.content_sharpen <= 1.5
    assert dataclasses.replace(drawn, content_face_px=0.0, content_sharpen=0.0) == plain  # every other draw unchanged
    assert ReplayParams.from_dict(json.loads(json.dumps(drawn.to_dict()))) == drawn
    # The resolution: a 1-pixel checkerboard (face: the central half of 64 px, 32 px) shown from a 16 px wide face is
    # grey; a recording finer than the image changes nothing.
    board = ((np.indices((64, 64)).sum(axis=0) % 2) * 200 + 20).astype(np.uint8)[..., None].repeat(3, axis=2)
    assert limit_resolution(board, 16.0, 0.5).astype(float).std() < 5.0 < board.astype(float).std()
    assert limit_resolution(board, 64.0, 0.5) is board
    # In a render: the same parameters with and without them differ, and they are validated.
    face = draw_face(64, seed=6)
    params = _ideal(_frontal(0.5, n=64))
    a = ReplaySynthesizer().apply(face, params)
    b = ReplaySynthesizer().apply(face, dataclasses.replace(params, content_face_px=12.0, content_sharpen=1.0))
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.2
    with pytest.raises(ValueError, match="content_sharpen"):
        ReplayParams(content_sharpen=-1.0)
    with pytest.raises(ValueError, match="content_face_px"):
        ReplayRanges(content_face_px=(1.0, 300.0))
    with pytest.raises(ValueError, match="face_px"):
        limit_resolution(board, 0.0, 0.5)


def test_replay_content_denoise_is_drawn_last_recorded_and_smooths_the_media_noise_only() -> None:
    rng = lambda: np.random.default_rng(12)  # noqa: E731
    plain = ReplaySynthesizer(dataclasses.replace(SMALL, content_denoise=(0.0, 0.0), **NO_BALANCE)).sample_params(rng())
    smoothed = ReplaySynthesizer(dataclasses.replace(SMALL, content_denoise=(10.0, 20.0), **NO_BALANCE)).sample_params(
        rng()
    )
    assert plain.content_denoise == 0.0 and 10.0 <= smoothed.content_denoise <= 20.0
    assert dataclasses.replace(smoothed, content_denoise=0.0) == plain  # every other draw unchanged
    assert ReplayParams.from_dict(json.loads(json.dumps(smoothed.to_dict()))) == smoothed
    # The filter itself: fine noise (std 6 levels) goes, a 100-level edge stays.
    noise = np.random.default_rng(0).normal(0.0, 6.0, (64, 64, 3))
    image = np.clip(np.where(np.arange(64)[None, :, None] < 32, 60.0, 160.0) + noise, 0, 255).astype(np.uint8)
    out = denoise(image, 20.0).astype(float)
    assert out[:, 4:28].std() < 0.5 * image[:, 4:28].astype(float).std()
    assert out[:, 36:60].mean() - out[:, 4:28].mean() == pytest.approx(100.0, abs=3.0)
    assert denoise(image, 0.0) is image
    # In a render: same parameters with and without it differ (the media changed), and it is validated.
    face = (draw_face(64, seed=5).astype(float) + np.random.default_rng(1).normal(0, 8, (64, 64, 3))).clip(0, 255)
    face = face.astype(np.uint8)
    params = _ideal(_frontal(0.5, n=64))
    a = ReplaySynthesizer().apply(face, params)
    b = ReplaySynthesizer().apply(face, dataclasses.replace(params, content_denoise=25.0))
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.2
    with pytest.raises(ValueError, match="content_denoise"):
        ReplayParams(content_denoise=-1.0)
    with pytest.raises(ValueError, match="content_denoise"):
        ReplayRanges(content_denoise=(0.0, 500.0))
    with pytest.raises(ValueError, match="strength"):
        denoise(image, -1.0)


def test_sensor_scale_counts_camera_pixels_against_the_output_size() -> None:
    """With ``sensor_scale`` the camera's pixels follow the image (its longer side), in one draw, so every other
    parameter keeps its value; without a size the absolute ``sensor_px`` range is used."""
    ranges = CaptureRanges(sensor_px=(100.0, 100.0), sensor_scale=(0.5, 0.5))
    sized = ranges.sample(np.random.default_rng(3), (300, 200))
    unsized = ranges.sample(np.random.default_rng(3))
    assert sized.sensor_px == 150
    assert unsized.sensor_px == 100
    assert dataclasses.replace(sized, sensor_px=100) == unsized
    assert CaptureRanges(sensor_scale=(0.05, 0.05)).sample(np.random.default_rng(0), (100, 100)).sensor_px == 16


def test_replay_defaults_draw_the_camera_relative_to_the_image() -> None:
    """A replay made by ``synth(image, rng)`` films it at 0.6-1 camera pixels per image pixel (upsampling a small
    sensor onto a large image is a blur no real attack crop of that size has)."""
    synth = ReplaySynthesizer()
    low, high = synth.ranges.capture.sensor_scale
    for side in (128, 400):
        for seed in range(8):
            params = synth.sample_params(np.random.default_rng(seed), (side, side))
            assert low * side - 2 <= params.capture.sensor_px <= high * side + 2
    _, params = synth(draw_face(96), np.random.default_rng(0))  # __call__ passes the image's size
    assert low * 96 - 2 <= params.capture.sensor_px <= high * 96 + 2
