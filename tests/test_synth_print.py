"""Print-attack synthesis: reproducibility, halftone period vs printer resolution, contone, white balance, rigid
clips, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stasn.synth import PrintParams, PrintRanges, PrintSynthesizer
from stasn.synth.geometry import Pose
from stasn.synth.halftone import cmyk_coverage, neugebauer_primaries, screen_thresholds
from stasn.synth.recapture import CaptureParams, CaptureRanges, ViewParams
from stasn.testing.faces import draw_face, face_clip

SMALL = PrintRanges(capture=CaptureRanges(sensor_px=(48.0, 96.0)))


def _radial_peak(image: np.ndarray) -> int:
    """Radius (FFT bins) of the strongest ring of the grey image's spectrum, ignoring the lowest 4 bins."""
    grey = image.astype(np.float64).mean(axis=-1)
    n = grey.shape[0]
    window = np.hanning(n)[:, None] * np.hanning(n)[None, :]
    power = np.abs(np.fft.fft2((grey - grey.mean()) * window)) ** 2
    f = np.fft.fftfreq(n) * n
    radius = np.rint(np.hypot(f[:, None], f[None, :])).astype(int)
    ring = np.bincount(radius.ravel(), power.ravel())
    return int(np.argmax(ring[4 : n // 2])) + 4


def _flat_print(n: int, dpi: float, cell_dots: float) -> PrintParams:
    return PrintParams(
        area_mm=(100.0, 150.0),
        face_scale=0.6,
        dpi=dpi,
        halftone="am",
        cell_dots=cell_dots,
        view=ViewParams(pose=Pose(distance=6.0)),
        capture=CaptureParams(sensor_px=n, demosaic="none", codec="none"),
    )


def test_print_same_seed_same_output() -> None:
    synth = PrintSynthesizer(SMALL)
    face = draw_face(64, seed=1)
    p1, p2 = (synth.sample_params(np.random.default_rng(9)) for _ in range(2))
    assert p1 == p2
    np.testing.assert_array_equal(synth.apply(face, p1), synth.apply(face, p2))
    assert PrintParams.from_dict(p1.to_dict()) == p1


@pytest.mark.parametrize(("kind", "period", "repeat"), [("am", 8.0, 8), ("am", 5.0, 5), ("dither", 2.0, 16)])
def test_screen_thresholds_repeat_with_the_cell(kind: str, period: float, repeat: int) -> None:
    """An unrotated AM screen repeats every cell; an ordered dither every 8 printer dots."""
    thresholds = screen_thresholds((64, 64), kind=kind, period=period, angle=0.0)
    np.testing.assert_allclose(thresholds[:, repeat:], thresholds[:, :-repeat], atol=1e-4)
    np.testing.assert_allclose(thresholds[repeat:], thresholds[:-repeat], atol=1e-4)
    assert 0.45 < float((thresholds < 0.5).mean()) < 0.55  # a flat 50 % tone inks half the paper


@pytest.mark.parametrize("period_px", [6.0, 8.0, 11.0])
def test_halftone_period_matches_printer_resolution(period_px: float) -> None:
    """Printed at ``dpi`` with ``cell_dots``-dot cells, the captured dots repeat every cell_dots / dpi inches."""
    n = 128
    cell_dots = 6.0
    base = _flat_print(n, dpi=100.0, cell_dots=cell_dots)
    synth = PrintSynthesizer()
    # Choose the dpi that makes one halftone cell ``period_px`` output pixels wide, from the model's own scale.
    dpi = 100.0 * synth.halftone_period_px(base, (n, n)) / period_px
    params = dataclasses.replace(base, dpi=dpi)
    assert synth.halftone_period_px(params, (n, n)) == pytest.approx(period_px, rel=1e-6)
    out = synth.apply(np.full((n, n, 3), 150, np.uint8), params)
    assert abs(_radial_peak(out) - n / period_px) <= 1.0


def test_print_clip_uses_one_frame_moved_rigidly() -> None:
    """A print cannot blink: every output frame comes from the same source frame."""
    synth = PrintSynthesizer(SMALL)
    clip = face_clip(5, 64, seed=2)
    clip[3] = draw_face(64, seed=9)  # a different face in one input frame must not show up
    params = synth.sample_params(np.random.default_rng(4))
    params = dataclasses.replace(params, source_frame=0.0)
    out = synth.apply(clip, params)
    np.testing.assert_array_equal(out, synth.apply(np.repeat(clip[:1], 5, axis=0), params))
    poses = params.view.poses(5)
    for a, b in zip(poses, poses[1:], strict=False):
        assert abs(b.yaw - a.yaw) <= params.view.jitter_angle + 1e-9


def test_bending_and_cut_eyes_change_the_print() -> None:
    synth = PrintSynthesizer()
    face = draw_face(96, seed=5)
    flat = _flat_print(96, dpi=300.0, cell_dots=6.0)
    bent = dataclasses.replace(flat, curvature=0.8)
    holes = dataclasses.replace(flat, cut_eyes=True)
    out_flat, out_bent, out_holes = (synth.apply(face, p) for p in (flat, bent, holes))
    assert np.abs(out_flat.astype(int) - out_bent).mean() > 2
    blocks = np.abs(out_flat.astype(int) - out_holes).mean(axis=-1).reshape(12, 8, 12, 8).mean(axis=(1, 3))
    row, _ = np.unravel_index(np.argmax(blocks), blocks.shape)
    assert blocks.max() > 5 * np.median(blocks)  # a local change (exposure shifts the rest a little)
    assert 2 <= row < 6  # the eyes: upper half, below the top of the face


def test_sampled_prints_are_fine_screens_or_contone() -> None:
    """Photo paper is mostly a photo lab's continuous tone; office paper is always screened, at 100-200 lpi."""
    ranges = PrintRanges()
    synth = PrintSynthesizer(ranges)
    drawn = [synth.sample_params(np.random.default_rng(i)) for i in range(300)]
    assert all(p.halftone != "contone" for p in drawn if p.paper == "office")
    photo = [p.halftone == "contone" for p in drawn if p.paper != "office"]
    assert 0.5 < np.mean(photo) < 0.9  # photo_lab_probability 0.7
    for p in drawn:
        assert ranges.dpi[0] <= p.dpi <= ranges.dpi[1]
        assert ranges.lpi[0] - 1e-6 <= p.dpi / p.cell_dots <= ranges.lpi[1] + 1e-6
        assert ranges.face_scale[0] - 1e-9 <= p.face_scale <= ranges.face_scale[1]
        assert ranges.awb[0] <= p.awb <= ranges.awb[1]
        assert ranges.calibration[0] <= p.calibration <= ranges.calibration[1]
        assert ranges.print_exposure[0] <= p.print_exposure <= ranges.print_exposure[1]


def test_contone_print_has_no_dots() -> None:
    """The same flat tone screened at 8 px per cell shows its dots; printed in continuous tone it is flat."""
    n = 128
    base = _flat_print(n, dpi=100.0, cell_dots=6.0)
    synth = PrintSynthesizer()
    screened = dataclasses.replace(base, dpi=100.0 * synth.halftone_period_px(base, (n, n)) / 8.0)
    grey = np.full((n, n, 3), 150, np.uint8)
    dots = synth.apply(grey, screened)[16:-16, 16:-16].astype(float)
    flat = synth.apply(grey, dataclasses.replace(screened, halftone="contone"))[16:-16, 16:-16].astype(float)
    assert dots.std() > 5 * max(flat.std(), 0.5)
    assert abs(dots.mean() - flat.mean()) < 12  # the same tone on average


def test_grey_world_white_balance_neutralises_a_warm_print() -> None:
    warm = np.zeros((64, 64, 3), np.uint8) + np.array([200, 140, 110], np.uint8)
    params = dataclasses.replace(_flat_print(64, dpi=300.0, cell_dots=6.0), halftone="contone")
    synth = PrintSynthesizer()
    plain = synth.apply(warm, params).reshape(-1, 3).mean(axis=0)
    balanced = synth.apply(warm, dataclasses.replace(params, awb=1.0)).reshape(-1, 3).mean(axis=0)
    assert plain[0] / plain[1] > 1.1  # ink and paper take some of the warmth
    assert abs(balanced[0] / balanced[1] - 1.0) < 0.05 and abs(balanced[2] / balanced[1] - 1.0) < 0.05


def test_black_prints_as_solid_black_ink() -> None:
    """GCR: no black ink in the highlights, solid black (and no colour inks) at black, so black reaches dmax."""
    cover = cmyk_coverage(np.array([[[0, 0, 0], [255, 255, 255], [128, 128, 128]]], np.uint8), black_generation=0.6)
    np.testing.assert_allclose(cover[0, 0], [0.0, 0.0, 0.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(cover[0, 1], 0.0, atol=1e-6)
    assert 0.0 < cover[0, 2, 3] < 0.5  # mid-grey: some black, under half
    assert cmyk_coverage(np.zeros((1, 1, 3), np.uint8), black_generation=0.0)[0, 0, 3] == 0.0


def test_calibration_and_print_exposure_tone() -> None:
    params = PrintParams(calibration=1.0, black_generation=0.5, ink_purity=0.8, dmax_reflectance=0.01)
    ink = {"purity": params.ink_purity, "dmax_reflectance": params.dmax_reflectance, "paper": params.paper_white}
    lut = PrintSynthesizer._calibration_lut(params, ink)
    assert lut[0] == 0 and lut[255] == 255 and np.all(np.diff(lut.astype(int)) >= 0)
    dark = np.full((32, 32, 3), 60, np.uint8)  # linear ~0.045
    bright = PrintSynthesizer._print_exposure(dark, 0.3)
    linear = ((bright.astype(float) / 255 + 0.055) / 1.055) ** 2.4
    assert abs(linear.mean() - 0.3) < 0.01


def test_neugebauer_primaries_paper_and_black() -> None:
    primaries = neugebauer_primaries(purity=0.9, dmax_reflectance=0.04, paper=(0.9, 0.9, 0.9))
    np.testing.assert_allclose(primaries[0], 0.9)  # no ink: bare paper
    assert primaries[8].max() <= 0.05  # solid black ink


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PrintRanges(dpi=(600.0, 300.0)), r"PrintRanges.dpi: expected \(low, high\)"),
        (lambda: PrintRanges(papers={"canvas": 1.0}), "unknown choice 'canvas'"),
        (lambda: PrintRanges(halftones={"am": 0.0}), "weights must be >= 0 with a positive sum"),
        (lambda: PrintParams(halftone="fm"), "halftone 'fm' unknown"),
        (lambda: PrintRanges(lpi=(200.0, 100.0)), r"PrintRanges.lpi: expected \(low, high\)"),
        (lambda: PrintRanges(photo_lab_probability=1.5), "photo_lab_probability"),
        (lambda: PrintParams(awb=1.5), r"awb must be in \[0, 1\]"),
        (lambda: PrintParams(calibration=-0.1), r"calibration must be in \[0, 1\]"),
        (lambda: PrintParams(print_exposure=2.0), r"print_exposure must be in \[0, 1\]"),
        (lambda: PrintRanges(print_exposure=(0.5, 0.2)), r"PrintRanges.print_exposure: expected \(low, high\)"),
        (lambda: PrintParams(dmax_reflectance=0.95), "dmax_reflectance must be in"),
        (lambda: PrintParams(face_scale=3.0), "puts the face outside"),
        (lambda: PrintParams(source_frame=1.0), r"source_frame must be in \[0, 1\)"),
        (lambda: screen_thresholds((8, 8), kind="am", period=0.0), "period must be > 0"),
    ],
)
def test_invalid_print_parameters_fail_clearly(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
