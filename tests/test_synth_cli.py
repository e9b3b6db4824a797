"""``stasn synth``: writes a valid cache (checked through read_manifest) and a preview sheet."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import shared_path
from stasn.cli.main import app
from stasn.data.manifest import CacheInfo, ManifestRow, read_cache_info, read_manifest, write_cache_info, write_manifest
from stasn.data.video import read_image
from stasn.labels import LIVE, SPOOF
from stasn.synth import PrintParams, PrintSynthesizer, ReplayParams, ReplayRanges, ReplaySynthesizer, synthesize_cache
from stasn.testing.faces import draw_face

INFO = CacheInfo(face_size=32, highres_size=64)
runner = CliRunner()


def _write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _live_cache(root: Path) -> list[ManifestRow]:
    """A tiny cache: two live videos (train/s1, dev/s2) of 3 frames, one print attack, one no_face frame."""
    write_cache_info(root, INFO)
    rows = []
    videos = [("tiny/live_a", LIVE, "live", "train", "s1"), ("tiny/live_b", LIVE, "live", "dev", "s2")]
    videos.append(("tiny/print_a", SPOOF, "print", "train", "s1"))
    for v, (video_id, label, attack, split, subject) in enumerate(videos):
        for frame in range(3):
            face = draw_face(64, seed=v, blink=0.5 * frame)
            rel = f"crops/{video_id}/{frame:06d}"
            _write_rgb(root / f"{rel}_highres.jpg", face)
            _write_rgb(root / f"{rel}_face.jpg", cv2.resize(face, (32, 32), interpolation=cv2.INTER_AREA))
            rows.append(
                ManifestRow(
                    sample_id=f"{video_id}#{frame}", video_id=video_id, dataset="tiny", source_path=f"{video_id}.avi",
                    frame_index=frame, label=label, attack_type=attack, split=split, subject=subject, session="1",
                    protocol="p1", fold="f0", face_path=f"{rel}_face.jpg", highres_path=f"{rel}_highres.jpg",
                )
            )  # fmt: skip
    rows.append(dataclasses.replace(rows[0], sample_id="tiny/live_a#9", frame_index=9, status="no_face"))
    write_manifest(rows, root)
    return rows


def test_cli_synth_appends_replays_to_the_live_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = _live_cache(cache)
    sheet = tmp_path / "sheet.png"
    args = ["synth", "--live", str(cache), "--out", str(cache), "--kind", "replay", "--per-live", "2", "--seed", "1"]
    result = runner.invoke(app, [*args, "--preview", str(sheet)])
    assert result.exit_code == 0, result.output

    rows = read_manifest(cache)
    assert [r.sample_id for r in rows[: len(before)]] == [r.sample_id for r in before]  # appended, originals kept
    new = rows[len(before) :]
    assert len(new) == 2 * 2 * 3  # 2 live videos (ok frames only) x 2 attacks x 3 frames
    assert {r.video_id for r in new} == {f"synth/replay/tiny/live_{v}/{n}" for v in "ab" for n in (0, 1)}
    for row in new:
        source = row.extra["source_video_id"]
        assert row.label == SPOOF and row.attack_type == "replay-synth" and row.dataset == "synth"
        assert (row.split, row.subject) == (("train", "s1") if source == "tiny/live_a" else ("dev", "s2"))
        assert (row.session, row.protocol, row.fold) == ("1", "p1", "f0")
        assert cv2.imread(str(cache / row.highres_path)).shape == (64, 64, 3)
        assert cv2.imread(str(cache / row.face_path)).shape == (32, 32, 3)
        record = row.extra["synth"]
        assert record["kind"] == "replay" and record["seed"] == 1
        ReplayParams.from_dict(record["params"])  # every parameter is there and valid
    assert read_cache_info(cache) == INFO

    preview = cv2.imread(str(sheet))
    assert preview.shape == (2 * 192, 3 * 192, 3)  # 2 live videos, each with its 2 attacks

    # Re-running replaces the same videos (and, being seeded, writes the same pixels).
    first = cv2.imread(str(cache / new[0].highres_path))
    assert runner.invoke(app, args).exit_code == 0
    assert len(read_manifest(cache)) == len(rows)
    np.testing.assert_array_equal(cv2.imread(str(cache / new[0].highres_path)), first)


def test_cli_synth_prints_from_an_image_folder(tmp_path: Path) -> None:
    images, out = tmp_path / "faces", tmp_path / "out"
    _write_rgb(images / "anna.png", draw_face(80, seed=1))
    _write_rgb(images / "sub" / "bob.jpg", draw_face(96, seed=2)[:, 8:88])  # not square: centre-cropped
    write_cache_info(out, INFO)  # an existing cache keeps its crop sizes
    result = runner.invoke(app, ["synth", "--live", str(images), "--out", str(out), "--kind", "print"])
    assert result.exit_code == 0, result.output
    rows = read_manifest(out)
    assert sorted(r.video_id for r in rows) == ["synth/print/anna/0", "synth/print/sub/bob/0"]
    for row in rows:
        assert row.attack_type == "print-synth" and row.split == "train" and row.frame_index == 0
        PrintParams.from_dict(row.extra["synth"]["params"])
        assert cv2.imread(str(out / row.highres_path)).shape == (64, 64, 3)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "no images"),
        ("mismatch", "cache was made with"),
    ],
)
def test_cli_synth_errors_are_one_line(tmp_path: Path, setup: str, message: str) -> None:
    live, out = tmp_path / "live", tmp_path / "out"
    if setup == "empty":
        live.mkdir()
    else:
        _live_cache(live)
        write_cache_info(out, CacheInfo(face_size=32, highres_size=96))
    result = runner.invoke(app, ["synth", "--live", str(live), "--out", str(out)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_synthesize_cache_draws_from_given_ranges(tmp_path: Path) -> None:
    _live_cache(tmp_path / "live")
    ranges = ReplayRanges(meter_share=(0.3, 0.3))
    summary = synthesize_cache(tmp_path / "live", tmp_path / "out", kind="replay", seed=0, ranges=ranges)
    shares = {r.extra["synth"]["params"]["meter_share"] for r in read_manifest(summary.manifest)}
    assert shares == {0.3}  # the default ranges fix it at 1.0
    with pytest.raises(ValueError, match="print attacks draw from PrintRanges, got ReplayRanges"):
        synthesize_cache(tmp_path / "live", tmp_path / "out", kind="print", ranges=ranges)


@pytest.mark.slow
def test_synth_workers_do_not_change_the_result(tmp_path: Path) -> None:
    _live_cache(tmp_path / "live")
    one = synthesize_cache(tmp_path / "live", tmp_path / "one", kind="replay", per_live=2, seed=3, workers=1)
    two = synthesize_cache(tmp_path / "live", tmp_path / "two", kind="replay", per_live=2, seed=3, workers=2)
    rows_one, rows_two = read_manifest(one.manifest), read_manifest(two.manifest)
    assert [r.sample_id for r in rows_one] == [r.sample_id for r in rows_two]
    for a, b in zip(rows_one, rows_two, strict=True):
        assert a.extra == b.extra
        pixels = [cv2.imread(str(summary.out / row.highres_path)) for summary, row in ((one, a), (two, b))]
        np.testing.assert_array_equal(*pixels)


@pytest.mark.shared
def test_synthesizers_on_real_live_crops() -> None:
    """Real live face crops (../shared) go through both synthesizers (smoke test of real image statistics)."""
    root = shared_path("data", "replay-crops-dev")
    with (root / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        live = [r["path"] for r in csv.DictReader(handle) if r["label"] == "0"][:2]
    rng = np.random.default_rng(0)
    for path in live:
        image = read_image(root / path)
        side = min(image.shape[:2])
        square = np.ascontiguousarray(cv2.resize(image[:side, :side], (128, 128), interpolation=cv2.INTER_AREA))
        for synth in (ReplaySynthesizer(), PrintSynthesizer()):
            out, _ = synth(square, rng)
            assert out.shape == square.shape and out.dtype == np.uint8
            assert np.abs(out.astype(int) - square).mean() > 2  # visibly re-captured
