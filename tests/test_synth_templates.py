"""Device templates: the marker board, screen quads found in a drawn device video (checked against its exact corners),
masks without the thumb, temporal smoothing, bad input, and template-mode synthesis into the extracted templates."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from stasn.errors import DataError
from stasn.synth import ReplayParams, ReplaySynthesizer
from stasn.synth.markers import BoardLayout, board_layout, parse_screen_size, read_boards, write_board
from stasn.synth.template_replay import TemplateReplay, TemplateReplayParams
from stasn.synth.templates import (
    TEMPLATES_JSON,
    BoardFinder,
    TemplateSet,
    extract_templates,
    quad_coverage,
    smooth_quads,
)
from stasn.testing.device_video import render_device_video
from stasn.testing.faces import draw_face, face_clip
from stasn.testing.videos import write_video

SCREEN = (1080, 2340)  # a phone's panel, portrait


@pytest.fixture(scope="module")
def device(tmp_path_factory) -> dict:
    """A template folder extracted from a drawn 720p phone video (H.264), with the video's exact quads."""
    root = tmp_path_factory.mktemp("templates")
    layout, _ = write_board(root, "phone", *SCREEN, seconds=0)
    video = render_device_video(layout.image(), num_frames=20, seed=11)
    path = write_video(root / "phone_room1.mp4", video.frames, crf=20)
    summary = extract_templates([path], root)
    return {"root": root, "layout": layout, "video": video, "summary": summary, "path": path}


# -------------------------------------------------------------------------------------------------------- board
def test_board_corners_are_where_the_detector_finds_them_on_the_flat_image() -> None:
    layout = board_layout(720, 1280)
    fit, reason = BoardFinder(layout).find(cv2.cvtColor(layout.image(), cv2.COLOR_RGB2GRAY))
    assert reason == "ok" and fit.corners == len(layout.corner_positions())
    np.testing.assert_allclose(fit.quad, layout.screen_corners(), atol=0.05)


@pytest.mark.parametrize("size", [(1080, 2340), (2340, 1080), (1920, 1080), (2048, 1536), (640, 640)])
def test_board_layout_fills_any_screen(size: tuple[int, int]) -> None:
    layout = board_layout(*size)
    assert layout.image().shape == (size[1], size[0], 3)
    assert min(layout.squares) == 5 and layout.square_px * max(layout.squares) > 0.8 * max(size)
    assert BoardLayout.from_dict(json.loads(json.dumps(layout.to_dict()))) == layout


def test_board_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 64 x 64"):
        board_layout(40, 400)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_screen_size("1080by2340")
    with pytest.raises(ValueError, match="Unknown device kind 'watch'"):
        board_layout(400, 800, device="watch")
    assert parse_screen_size("1080x2340") == (1080, 2340)


def test_write_board_writes_image_video_and_index(tmp_path: Path) -> None:
    layout, written = write_board(tmp_path, "tab", 320, 240, device="tablet", seconds=0.5, fps=4)
    assert {p.name for p in written} == {"tab.png", "tab.mp4", "board.json"}
    image = cv2.imread(str(tmp_path / "boards" / "tab.png"))[..., ::-1]
    np.testing.assert_array_equal(image, layout.image())
    from stasn.data.video import VideoFile

    with VideoFile(tmp_path / "boards" / "tab.mp4") as video:
        assert video.num_frames == 2
    write_board(tmp_path, "phone", 240, 320, seconds=0)
    assert set(read_boards(tmp_path)) == {"tab", "phone"} and read_boards(tmp_path)["tab"].device == "tablet"
    with pytest.raises(ValueError, match="screen name"):
        write_board(tmp_path, "../x", 320, 240)


# --------------------------------------------------------------------------------------------------- extraction
def test_extract_finds_every_quad_within_one_pixel(device: dict) -> None:
    summary = device["summary"].clips[0]
    assert summary.frames == 20 and summary.kept + sum(summary.dropped.values()) == 20
    clip = TemplateSet(device["root"]).clip("phone_room1")
    errors = np.array([np.abs(np.asarray(f["quad"]) - device["video"].quads[f["index"]]).max() for f in clip.frames])
    assert len(errors) >= 19, summary.dropped  # at most one frame of 20 dropped
    within = float((errors <= 1.0).sum()) / summary.frames  # dropped frames count as misses
    assert within >= 0.95, (within, errors.round(2))


def test_extract_mask_is_the_screen_without_the_thumb(device: dict) -> None:
    templates = TemplateSet(device["root"])
    video = device["video"]
    ious = []
    for position in (0, 7, 15):
        frame = templates.frame("phone_room1", position)
        truth = quad_coverage(video.quads[frame.index], (1280, 720)) * (1 - video.occluders[frame.index] / 255.0)
        found, real = frame.mask > 0.5, truth > 0.5
        ious.append((found & real).sum() / (found | real).sum())
        assert frame.image.shape == (720, 1280, 3) and frame.gain.shape == (90, 160, 3)
        screen = frame.mask > 0.99
        gain = cv2.resize(frame.gain, (1280, 720))[screen].mean()
        assert 0.3 < gain < 1.0  # the panel's white: bright, not saturated
    assert min(ious) >= 0.97, ious


def test_smooth_quads_keeps_quadratic_motion_and_skips_gaps() -> None:
    t = np.arange(9, dtype=np.float64)
    base = np.array([[0, 0], [10, 0], [10, 20], [0, 20]], np.float64)
    quads = [base + (0.3 * k**2 + 2 * k) for k in t]
    noisy = [q + np.random.default_rng(int(k)).normal(0, 0.2, q.shape) for k, q in zip(t, quads, strict=True)]
    smoothed = smooth_quads(quads)
    for a, b in zip(smoothed, quads, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)  # exact for constant acceleration
    gappy = smooth_quads([*noisy[:4], None, *noisy[5:]])
    assert gappy[4] is None
    np.testing.assert_array_equal(gappy[3], noisy[3])  # its window holds the gap: left as found
    errors_raw = np.abs(np.stack(noisy[2:-2]) - np.stack(quads[2:-2])).mean()
    errors_smooth = np.abs(np.stack(smooth_quads(noisy)[2:-2]) - np.stack(quads[2:-2])).mean()
    assert errors_smooth < 0.8 * errors_raw


def test_quad_coverage_area_matches_the_polygon() -> None:
    quad = np.array([[10.3, 12.1], [80.7, 20.2], [70.2, 90.9], [5.5, 60.4]])
    coverage = quad_coverage(quad, (100, 100))
    assert coverage.sum() == pytest.approx(cv2.contourArea(quad.astype(np.float32)), rel=0.01)
    np.testing.assert_allclose(quad_coverage(quad[::-1], (100, 100)), coverage)


def test_extract_bad_input_names_the_file_and_writes_nothing(tmp_path: Path, device: dict) -> None:
    with pytest.raises(FileNotFoundError, match="nope.mp4: video file not found"):
        extract_templates([tmp_path / "nope.mp4"], tmp_path)
    with pytest.raises(FileNotFoundError, match="board.json: no boards here"):
        extract_templates([device["path"]], tmp_path)
    write_board(tmp_path, "phone", *SCREEN, seconds=0)
    plain = write_video(tmp_path / "wall.mp4", [np.full((96, 128, 3), 90, np.uint8)] * 3)
    with pytest.raises(DataError, match=r"wall.mp4: no frame shows enough of the board .* few_markers 3"):
        extract_templates([plain], tmp_path)
    assert not (tmp_path / TEMPLATES_JSON).exists() and not (tmp_path / "wall").exists()
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())
    with pytest.raises(FileNotFoundError, match="no templates here"):
        TemplateSet(tmp_path)
    (tmp_path / TEMPLATES_JSON).write_text('{"version": 1, "clips": {}}')
    with pytest.raises(DataError, match="lists no template frame"):
        TemplateSet(tmp_path)


# ------------------------------------------------------------------------------------------------ template mode
def _outside(mask: np.ndarray) -> np.ndarray:
    """Pixels two or more output pixels away from any composited pixel."""
    return cv2.dilate((mask > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) == 0


def test_template_mode_puts_the_face_inside_the_screen_and_keeps_the_rest(device: dict) -> None:
    synth = TemplateReplay(device["root"])
    templates = TemplateSet(device["root"])
    video = device["video"]
    face = draw_face(256, seed=3)
    rng = np.random.default_rng(5)
    overlaps = []
    for _ in range(12):
        params = synth.sample_params(rng)
        result = synth.render(face, params)
        frame = templates.frame(params.template, params.start)
        # The truth: the drawn video's exact screen (minus the thumb), mapped into the output crop like the quad.
        to_out = cv2.getPerspectiveTransform(frame.quad.astype(np.float32), result.screens[0].astype(np.float32))
        truth_full = quad_coverage(video.quads[frame.index], (1280, 720)) * (1 - video.occluders[frame.index] / 255)
        truth = cv2.warpPerspective(truth_full, to_out, (256, 256), flags=cv2.INTER_AREA) > 0.5
        found = result.masks[0] > 0.5
        overlaps.append((found & truth).sum() / max((found | truth).sum(), 1))
        # The displayed face box lies inside the screen quad.
        screen = result.screens[0].astype(np.float32)
        assert all(cv2.pointPolygonTest(screen, tuple(map(float, c)), True) >= -0.5 for c in result.faces[0])
        # Outside the screen every pixel is the template's.
        outside = _outside(result.masks[0])
        # (nothing is two pixels from the screen only when it covers the crop but for slivers at its edge)
        assert outside.any() or (result.masks[0] > 0).mean() > 0.99
        np.testing.assert_array_equal(result.frames[0][outside], result.background[0][outside])
        # ... and the background is the template frame itself, cropped.
        crop = cv2.warpPerspective(frame.image, to_out, (256, 256), flags=cv2.INTER_AREA)
        assert np.abs(crop.astype(int) - result.background[0]).mean() < 4
    assert min(overlaps) >= 0.95, np.round(overlaps, 3)


def test_template_mode_is_seed_deterministic_and_recorded(device: dict) -> None:
    synth = TemplateReplay(device["root"])
    clip = face_clip(3, 96, seed=1)
    p1, p2 = synth.sample_params(np.random.default_rng(9)), synth.sample_params(np.random.default_rng(9))
    assert p1 == p2
    again = TemplateReplayParams.from_dict(json.loads(json.dumps(p1.to_dict())))
    assert again == p1
    out = synth.apply(clip, p1)
    assert out.shape == clip.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, TemplateReplay(device["root"]).apply(clip, again))
    assert synth.sample_params(np.random.default_rng(10)) != p1


def test_replay_synthesizer_mixes_template_and_procedural_screens(device: dict) -> None:
    rng = np.random.default_rng(0)
    mixed = ReplaySynthesizer(templates=device["root"], template_ratio=0.5)
    kinds = [type(mixed.sample_params(rng)).__name__ for _ in range(40)]
    assert 8 < kinds.count("TemplateReplayParams") < 32 and "ReplayParams" in kinds
    only = ReplaySynthesizer(templates=device["root"], template_ratio=1.0)
    params = only.sample_params(rng)
    assert isinstance(params, TemplateReplayParams) and params.device == "template-phone"
    face = draw_face(64, seed=2)
    assert only.apply(face, params).shape == face.shape
    with pytest.raises(ValueError, match="needs a ReplaySynthesizer made with templates"):
        ReplaySynthesizer().apply(face, params)
    with pytest.raises(ValueError, match="template_ratio"):
        ReplaySynthesizer(template_ratio=1.5)
    none = ReplaySynthesizer(templates=device["root"], template_ratio=0.0)
    assert all(isinstance(none.sample_params(rng), ReplayParams) for _ in range(10))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_extract_quads_on_harder_videos(tmp_path: Path, seed: int) -> None:
    """More blur, noise and compression, and faster motion: still within a pixel on >= 95 % of frames."""
    layout, _ = write_board(tmp_path, "phone", *SCREEN, seconds=0)
    video = render_device_video(layout.image(), num_frames=30, seed=seed, blur=(1.0, 1.4), noise=(2.0, 4.0), motion=2.0)
    path = write_video(tmp_path / "hard.mp4", video.frames, crf=26)
    summary = extract_templates([path], tmp_path).clips[0]
    clip = TemplateSet(tmp_path).clip("hard")
    errors = np.array([np.abs(np.asarray(f["quad"]) - video.quads[f["index"]]).max() for f in clip.frames])
    assert (errors <= 1.0).sum() / summary.frames >= 0.95, (summary.dropped, errors.round(2))


def test_cli_templates_extract_then_synth_with_templates(tmp_path: Path, device: dict) -> None:
    from typer.testing import CliRunner

    from stasn.cli.main import app
    from stasn.data.manifest import read_manifest

    runner = CliRunner()
    root = tmp_path / "templates"
    board = ["collect", "template", "--out", str(root), "--screen", "1080x2340", "--name", "phone", "--seconds", "0"]
    assert runner.invoke(app, board).exit_code == 0
    result = runner.invoke(app, ["templates", "extract", str(device["path"]), "--out", str(root)])
    assert result.exit_code == 0, result.output
    assert "frames kept" in result.output and len(TemplateSet(root)) >= 19
    faces = tmp_path / "faces"
    faces.mkdir()
    for k in range(2):
        cv2.imwrite(str(faces / f"f{k}.png"), draw_face(96, seed=k)[..., ::-1])
    cache = tmp_path / "cache"
    args = ["synth", "--live", str(faces), "--out", str(cache), "--templates", str(root), "--template-ratio", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = read_manifest(cache)
    assert len(rows) == 2 and {r.device for r in rows} == {"synth-template-phone"}
    record = rows[0].extra["synth"]
    assert record["mode"] == "template" and TemplateReplayParams.from_dict(record["params"]).template == "phone_room1"
    # Bad input: one line, exit 1.
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["templates", "extract", str(device["path"]), "--out", str(empty)])
    assert (
        result.exit_code == 1
        and result.output.strip().count("\n") == 0
        and "board.json: no boards here" in result.output
    )
    result = runner.invoke(
        app, ["synth", "--live", str(faces), "--out", str(tmp_path / "c2"), "--templates", str(empty)]
    )
    assert (
        result.exit_code == 1
        and result.output.strip().count("\n") == 0
        and "templates.json: no templates here" in result.output
    )
    assert not (tmp_path / "c2").exists()
    result = runner.invoke(app, [*args[:-4], "--kind", "print", "--templates", str(root)])
    assert result.exit_code == 1 and "they make replay attacks" in result.output


def test_config_synth_template_keys(tmp_path: Path, device: dict) -> None:
    from stasn.synth import SynthesizeAttack
    from stasn.train.config import load_experiment

    config = load_experiment("configs/_base.yaml", [f"synth.templates={device['root']}", "synth.template_ratio=1.0"])
    assert config.synth.templates == str(device["root"]) and config.synth.template_ratio == 1.0
    with pytest.raises(ValueError, match=r"synth.template_ratio must be in \[0, 1\], got 1.5"):
        load_experiment("configs/_base.yaml", ["synth.template_ratio=1.5"])
    transform = SynthesizeAttack(kinds=("replay",), templates=config.synth.templates, template_ratio=1.0)
    frames, attack_type, record = transform(face_clip(2, 64, seed=0), np.random.default_rng(0))
    assert frames.shape == (2, 64, 64, 3) and attack_type == "replay-synth" and "template" in record["params"]
