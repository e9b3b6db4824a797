"""stasn.data.prepare and `stasn prepare`: manifest contents, failures kept, resuming, no half-written files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import stasn.data.prepare as prep
from stasn.cli.main import app
from stasn.data.cache import PARTS_DIR, part_path
from stasn.data.manifest import CacheInfo, read_cache_info, read_manifest
from stasn.data.prepare import prepare_dataset, prepare_samples
from stasn.data.sampling import FrameSampler
from stasn.datasets.base import FaceAnnotations, Sample
from stasn.errors import DataError
from stasn.testing.videos import BrightBoxDetector, face_frame, write_video

INFO = CacheInfo(face_size=16, highres_size=32, crop_scale=1.25)


def _png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def make_generic(root: Path) -> Path:
    """A tiny dataset in the generic adapter's samples.csv form: 6 videos of every kind, 2 frames without a face."""
    (root / "videos").mkdir(parents=True)
    write_video(root / "videos/live1.mp4", [face_frame(i) for i in range(8)])
    write_video(root / "videos/print1.mp4", [face_frame(i, visible=i not in (3, 4)) for i in range(8)])
    write_video(root / "videos/replay1.avi", [face_frame(i) for i in range(6)], codec="mpeg4")
    for i in range(4):
        _png(root / f"frames/live2/{i:03d}.png", face_frame(i))
    _png(root / "stills/live3.png", face_frame(2))
    write_video(root / "videos/boxed.mp4", [face_frame(i, visible=False) for i in range(5)])
    (root / "boxes").mkdir()
    (root / "boxes/boxed.txt").write_text("".join(f"{i} 10 10 30 30\n" for i in range(5)))
    (root / "samples.csv").write_text(
        "path,label,split,attack_type,subject,boxes\n"
        "videos/live1.mp4,live,train,,s1,\n"
        "videos/print1.mp4,spoof,train,print,s1,\n"
        "videos/replay1.avi,spoof,dev,replay,s2,\n"
        "frames/live2,live,dev,,s2,\n"
        "stills/live3.png,live,test,,s3,\n"
        "videos/boxed.mp4,live,test,,s3,boxes/boxed.txt\n"
    )
    return root


@pytest.fixture
def dataset(tmp_path):
    return make_generic(tmp_path / "data")


def _prepare(root, out, **kwargs):
    kwargs.setdefault("detector", BrightBoxDetector())
    kwargs.setdefault("cache_info", INFO)
    return prepare_dataset("generic", root, out, **kwargs)


def test_prepare_writes_manifest_and_crops(dataset, tmp_path):
    out = tmp_path / "cache"
    summary = _prepare(dataset, out)
    rows = read_manifest(out)
    assert len(rows) == 8 + 8 + 6 + 4 + 1 + 5
    assert read_cache_info(out) == INFO
    assert (summary.total.videos, summary.total.frames, summary.total.ok, summary.total.no_face) == (6, 32, 30, 2)
    assert summary.splits["train"].no_face == 2 and summary.splits["dev"].frames == 10

    by_id = {r.sample_id: r for r in rows}
    missing = by_id["generic/videos/print1#3"]  # kept, counted, never relabelled
    assert (missing.status, missing.label, missing.attack_type, missing.face_path) == ("no_face", 1, "print", "")
    live = by_id["generic/videos/live1#5"]
    assert (live.status, live.label, live.split, live.detector, live.subject) == ("ok", 0, "train", "bright", "s1")
    assert live.box == pytest.approx((9, 16, 25, 32))  # the square of face_frame(5)
    assert live.crop_box == pytest.approx((7, 14, 27, 34))  # 16 px * 1.25 = 20 px square, same centre
    face = cv2.imread(str(out / live.face_path))
    assert face.shape == (16, 16, 3) and cv2.imread(str(out / live.highres_path)).shape == (32, 32, 3)
    assert live.face_path.startswith("crops/generic/videos/live1/")

    seq = [r for r in rows if r.video_id == "generic/frames/live2"]
    assert [r.frame_index for r in seq] == [0, 1, 2, 3]
    assert seq[2].source_path.endswith("002.png")  # an image sequence names each frame's own file
    boxed = [r for r in rows if r.video_id == "generic/videos/boxed"]
    assert {(r.status, r.detector) for r in boxed} == {("ok", "dataset")}  # dataset boxes beat the detector
    assert sum(r.video_id == "generic/stills/live3" for r in rows) == 1


def test_prepare_samples_sampling_first_frames_and_eyes(tmp_path):
    path = write_video(tmp_path / "v.mp4", [face_frame(i, visible=False) for i in range(30)])
    sample = Sample(path=path, label=0, attack_type="live", split="train", video_id="v", dataset="t", first_frames=12)
    notes = FaceAnnotations(eyes={i: (20, 20, 30, 20) for i in range(30)})
    summary = prepare_samples(
        [sample], tmp_path / "c", annotations=lambda s: notes, detector=BrightBoxDetector(),
        sampler=FrameSampler(count=4), cache_info=INFO,
    )  # fmt: skip
    rows = read_manifest(tmp_path / "c")
    assert [r.frame_index for r in rows] == [1, 4, 7, 10]  # 4 evenly spread over the first 12 frames only
    assert {r.status for r in rows} == {"ok"} and summary.total.ok == 4
    assert rows[0].extra["sampling"] == "4 evenly spread"


def test_prepare_rerun_skips_finished_videos(dataset, tmp_path, monkeypatch):
    out = tmp_path / "cache"
    _prepare(dataset, out)
    first = (out / "manifest.csv").read_text()
    calls = []
    real = prep._prepare_video
    monkeypatch.setattr(prep, "_prepare_video", lambda job, **kw: calls.append(job.video_id) or real(job, **kw))

    summary = _prepare(dataset, out)
    assert calls == [] and summary.total.resumed == 6
    assert (out / "manifest.csv").read_text() == first

    part_path(out, "generic/videos/print1").unlink()
    summary = _prepare(dataset, out)
    assert calls == ["generic/videos/print1"] and summary.total.resumed == 5
    assert len(read_manifest(out)) == 32


def test_prepare_refuses_to_mix_settings_in_one_cache(dataset, tmp_path):
    out = tmp_path / "cache"
    _prepare(dataset, out, frames_per_video=2)
    with pytest.raises(DataError, match="sampling='2 evenly spread'"):
        _prepare(dataset, out, frames_per_video=3)
    with pytest.raises(DataError, match="cache was made with"):
        _prepare(dataset, out, frames_per_video=2, cache_info=CacheInfo(face_size=16, highres_size=64))


class FailingDetector(BrightBoxDetector):
    """Raises (like a bug or a crash) on its ``fail_at``-th call."""

    def __init__(self, fail_at):
        super().__init__()
        self.calls, self.fail_at = 0, fail_at

    def _detect_bgr(self, bgr):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("detector crashed")
        return super()._detect_bgr(bgr)


def _assert_no_partial_files(out: Path) -> None:
    assert not [p for p in out.rglob("*") if ".tmp" in p.name], "temporary files left behind"
    for part in (out / PARTS_DIR).rglob("*.csv"):
        for row in read_manifest(part):
            if row.status == "ok":
                assert cv2.imread(str(out / row.highres_path)) is not None


def test_prepare_exception_leaves_no_half_written_files(dataset, tmp_path):
    out = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="detector crashed"):
        _prepare(dataset, out, detector=FailingDetector(fail_at=12))  # inside the 2nd video
    _assert_no_partial_files(out)
    assert not (out / "manifest.csv").exists()
    assert len(list((out / PARTS_DIR).rglob("*.csv"))) == 1  # only the first video finished

    summary = _prepare(dataset, out)
    assert summary.total.resumed == 1 and len(read_manifest(out)) == 32


def test_prepare_removes_stray_temporaries_at_start(dataset, tmp_path):
    """The clean-up step alone, on temporaries planted by hand (the real kill is in
    ``test_cli_prepare_killed_mid_run_leaves_no_process_and_resumes_to_the_same_cache``)."""
    out = tmp_path / "cache"
    _prepare(dataset, out, frames_per_video=1)
    stray = [out / "crops/generic/videos/live1/.000004_face.jpg.x1y2.tmp.jpg", out / "parts/.live9.csv.abcd.tmp.csv"]
    for path in stray:
        path.write_bytes(b"half")
    _prepare(dataset, out, frames_per_video=1)
    assert not any(p.exists() for p in stray)


def test_prepare_keeps_rows_other_writers_added(dataset, tmp_path):
    out = tmp_path / "cache"
    _prepare(dataset, out, frames_per_video=1)
    rows = read_manifest(out)
    synth = [r for r in rows if r.label == 0][0]
    synth.video_id, synth.sample_id, synth.label, synth.attack_type = "synth/x", "synth/x#0", 1, "replay-synth"
    from stasn.data.manifest import write_manifest

    write_manifest([*rows, synth], out)
    _prepare(dataset, out, frames_per_video=1)
    assert "synth/x" in {r.video_id for r in read_manifest(out)}


def test_prepare_records_unreadable_videos(tmp_path):
    root = tmp_path / "data"
    (root / "train/live").mkdir(parents=True)
    (root / "train/live/broken.mp4").write_bytes(b"not a video" * 50)
    write_video(root / "train/live/fine.mp4", [face_frame(i) for i in range(3)])
    summary = _prepare(root, tmp_path / "cache")
    broken = [r for r in read_manifest(tmp_path / "cache") if "broken" in r.video_id]
    assert [(r.status, r.label) for r in broken] == [("unreadable", 0)]
    assert "broken.mp4" in broken[0].extra["error"]
    assert (summary.total.unreadable, summary.total.videos_without_face, summary.total.ok) == (1, 1, 3)


def test_prepare_records_one_bad_frame_of_a_sequence(tmp_path):
    paths = [tmp_path / f"f{i}.png" for i in range(4)]
    for i, path in enumerate(paths):
        _png(path, face_frame(i))
    paths[2].write_bytes(b"garbage")
    sample = Sample(
        path=paths[0], label=1, attack_type="print", split="test", video_id="seq", dataset="t", frame_paths=tuple(paths)
    )
    summary = prepare_samples([sample], tmp_path / "c", detector=BrightBoxDetector(), cache_info=INFO)
    rows = read_manifest(tmp_path / "c")
    assert [r.status for r in rows] == ["ok", "ok", "unreadable", "ok"]
    assert "f2.png" in rows[2].extra["error"] and rows[2].label == 1
    assert (summary.total.ok, summary.total.unreadable) == (3, 1)


@pytest.mark.slow
def test_prepare_with_worker_processes_matches_one_process(dataset, tmp_path):
    one = _prepare(dataset, tmp_path / "one", workers=1)
    two = _prepare(dataset, tmp_path / "two", workers=2)
    assert one.total == two.total
    key = lambda r: (r.sample_id, r.status, r.box, r.face_path)  # noqa: E731
    assert sorted(map(key, read_manifest(tmp_path / "one"))) == sorted(map(key, read_manifest(tmp_path / "two")))


_KILLABLE = """
import sys
from stasn.data.manifest import CacheInfo
from stasn.data.prepare import prepare_dataset
from stasn.testing.videos import BrightBoxDetector
prepare_dataset("generic", sys.argv[1], sys.argv[2], detector=BrightBoxDetector(delay=0.1),
                cache_info=CacheInfo(face_size=16, highres_size=32, crop_scale=1.25))
"""


@pytest.mark.slow
def test_prepare_survives_a_hard_kill(dataset, tmp_path):
    out = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(dataset), str(out)])
    try:
        deadline = time.monotonic() + 30
        while not list((out / PARTS_DIR).rglob("*.csv")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.25)  # somewhere inside the next video
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "manifest.csv").exists(), "the run finished before it could be killed"
    for jpeg in (out / "crops").rglob("*.jpg"):
        if not jpeg.name.startswith("."):
            assert cv2.imread(str(jpeg)) is not None, f"{jpeg} is half-written"
    summary = _prepare(dataset, out)
    _assert_no_partial_files(out)
    assert summary.total.resumed >= 1 and len(read_manifest(out)) == 32


def test_cli_prepare(dataset, tmp_path):
    out = tmp_path / "cache"
    args = ["prepare", "--dataset", "generic", "--root", str(dataset), "--out", str(out), "--workers", "1"]
    result = CliRunner().invoke(app, [*args, "--frames-per-video", "2", "--face-size", "16", "--highres-size", "32"])
    assert result.exit_code == 0, result.output
    rows = read_manifest(out)
    assert len(rows) == 2 + 2 + 2 + 2 + 1 + 2
    # Haar finds no face in generated squares: every frame is a kept no_face row, except the dataset-boxed video.
    assert {r.status for r in rows if "boxed" not in r.video_id} == {"no_face"}
    assert "total" in result.output


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--detector", "mtcnn"], "Unknown detector 'mtcnn'"),
        (["--frame-stride", "2", "--clips-per-video", "2"], "needs both count and stride"),
    ],
)
def test_cli_prepare_bad_input_is_one_line(dataset, tmp_path, extra, message):
    args = ["prepare", "--dataset", "generic", "--root", str(dataset), "--out", str(tmp_path / "c"), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def _many_videos(root: Path, videos: int = 40, frames: int = 50) -> Path:
    """A generic dataset big enough (2000 frames of 320x240) that ``stasn prepare --workers 2`` runs for seconds."""
    (root / "videos").mkdir(parents=True)
    lines = ["path,label,split,attack_type,subject"]
    for v in range(videos):
        write_video(root / f"videos/v{v:03d}.avi", [face_frame(i + v, 240, 320, side=96) for i in range(frames)])
        lines.append(f"videos/v{v:03d}.avi,{'live' if v % 2 else 'spoof'},train,{'' if v % 2 else 'print'},s{v % 5}")
    (root / "samples.csv").write_text("\n".join(lines) + "\n")
    return root


def _cli_prepare(root: Path, out: Path) -> list[str]:
    args = ["prepare", "--dataset", "generic", "--root", str(root), "--out", str(out), "--workers", "2"]
    return [sys.executable, "-c", "from stasn.cli.main import app; app()", *args, "--detector", "whole",
            "--face-size", "32", "--highres-size", "64"]  # fmt: skip


def _files(cache: Path) -> dict[str, bytes]:
    return {str(p.relative_to(cache)): p.read_bytes() for p in sorted(cache.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_cli_prepare_killed_mid_run_leaves_no_process_and_resumes_to_the_same_cache(tmp_path):
    """A real ``kill -9`` of ``stasn prepare --workers 2`` while its workers crop: no process of that run is left
    (workers, fork server, resource tracker), and re-running finishes a cache byte-identical to an uninterrupted run
    (manifest, part files and every crop)."""
    psutil = pytest.importorskip("psutil")
    root = _many_videos(tmp_path / "data")
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(_cli_prepare(root, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids: list = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            kids = psutil.Process(proc.pid).children(recursive=True)
            if len(kids) >= 4 and list((out / PARTS_DIR).rglob("*.csv")):  # workers running, one video done
                break
            time.sleep(0.02)
        assert proc.poll() is None, "prepare finished (or failed) before it could be killed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    gone, alive = psutil.wait_procs(kids, timeout=15)
    for process in alive:  # do not leak them into the rest of the test run
        process.kill()
    assert not alive, f"left running after kill -9: {[' '.join(p.cmdline())[:80] for p in alive]}"
    assert len(gone) >= 4  # two workers, the fork server, the resource tracker
    assert not (out / "manifest.csv").exists(), "the run finished before it was killed"
    done = len(list((out / PARTS_DIR).rglob("*.csv")))
    assert 1 <= done < 40

    subprocess.run(_cli_prepare(root, out), env=env, check=True, capture_output=True, timeout=300)
    clean = tmp_path / "clean"
    subprocess.run(_cli_prepare(root, clean), env=env, check=True, capture_output=True, timeout=300)
    assert (out / "manifest.csv").read_bytes() == (clean / "manifest.csv").read_bytes()
    assert _files(out) == _files(clean), "the resumed cache differs from an uninterrupted one"
