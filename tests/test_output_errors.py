"""Full disks, read-only media, file modes: one line naming the path and what to do, exit 1, nothing half-written;
a finished cache is usable from read-only media; outputs get the umask's mode.

The tests marked "real" mount a small tmpfs (a genuinely full disk) or a read-only bind mount; they need root with
CAP_SYS_ADMIN (permission bits alone do not stop root) and skip elsewhere. The "simulated" ones raise the same
``OSError`` (ENOSPC, EROFS) from inside a write and run everywhere.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

import stasn.fileio as fileio
from stasn.cli.main import app
from stasn.errors import OutputError
from stasn.fileio import atomic_path, write_bytes_atomic, write_text_atomic
from test_prepare import make_generic
from tiny import TINY_MODEL, make_tiny_cache, save_tiny_checkpoint


@contextlib.contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_get_the_umask_mode_like_any_new_file(tmp_path):
    with _umask(0o022):
        text = write_text_atomic(tmp_path / "a.txt", "x")
        checkpoint = save_tiny_checkpoint(tmp_path / "t.ckpt")
        (tmp_path / "plain.txt").write_text("x")
    with _umask(0o077):
        private = write_bytes_atomic(tmp_path / "b.bin", b"x")
    assert _mode(text) == _mode(checkpoint) == _mode(tmp_path / "plain.txt") == 0o644
    assert _mode(private) == 0o600


def test_simulated_full_disk_in_the_middle_of_a_write(tmp_path):
    out = tmp_path / "report.html"
    with pytest.raises(OutputError, match=r"report\.html: cannot write: no space left on the device; free some"):
        with atomic_path(out) as tmp:
            tmp.write_bytes(b"half of it")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == [], "nothing half-written, no temporary left"


def test_simulated_read_only_folder(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / ".x.tmp"))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", read_only)
    with pytest.raises(OutputError, match=rf"^{tmp_path}: cannot write: the file system is read-only; write the"):
        write_text_atomic(tmp_path / "a.txt", "x")
    # the CLI says it in one line and exits 1 (prepare writes cache.json first)
    data = make_generic(tmp_path / "data")
    args = ["prepare", "--dataset", "generic", "--root", str(data), "--out", str(tmp_path / "c"), "--workers", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {tmp_path / 'c'}: cannot write: the file system is read-only; write the output elsewhere"
    ]


def _need_mount() -> None:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root and mount(8)")


@contextlib.contextmanager
def _mount(target: Path, *commands: list[str]):
    """Run mount ``commands`` for ``target`` (skip when not permitted); unmount at the end."""
    _need_mount()
    target.mkdir(parents=True, exist_ok=True)
    mounted = False
    try:
        for command in commands:
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                pytest.skip(f"cannot mount here: {result.stderr.strip()}")
            mounted = True
        yield target
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _tmpfs(target: Path, size: str):
    return _mount(target, ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(target)])


def _read_only(source: Path, target: Path):
    return _mount(
        target,
        ["mount", "--bind", str(source), str(target)],
        ["mount", "-o", "remount,bind,ro", str(target)],
    )


def _prepare_cmd(root: Path, out: Path, workers: int = 2) -> list[str]:
    args = ["prepare", "--dataset", "generic", "--root", str(root), "--out", str(out), "--workers", str(workers)]
    return [sys.executable, "-c", "from stasn.cli.main import app; app()", *args, "--detector", "whole",
            "--face-size", "32", "--highres-size", "64"]  # fmt: skip


def _run(command: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def _assert_nothing_half_written(cache: Path) -> None:
    assert not [p for p in cache.rglob("*") if ".tmp" in p.name], "temporary files left behind"
    for jpeg in cache.rglob("*.jpg"):
        assert cv2.imread(str(jpeg)) is not None, f"{jpeg} is half-written"


@pytest.mark.slow
def test_real_full_disk_during_prepare_then_resume(tmp_path):
    """``stasn prepare --workers 2`` into a 160 KiB tmpfs: the disk fills up in a worker; one line, exit 1, no
    half-written crop, no manifest. After space is freed (the tmpfs grown) the same command finishes the cache."""
    data = make_generic(tmp_path / "data")
    clean = _run(_prepare_cmd(data, tmp_path / "clean"))
    assert clean.returncode == 0, clean.stderr
    with _tmpfs(tmp_path / "small", "160k") as disk:
        out = disk / "cache"
        full = _run(_prepare_cmd(data, out))
        assert full.returncode == 1, full.stdout + full.stderr
        errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and str(out) in errors[0], full.stderr
        assert "cannot write: no space left on the device; free some space" in errors[0]
        assert "Traceback" not in full.stderr
        _assert_nothing_half_written(out)
        assert not (out / "manifest.csv").exists()

        subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
        resumed = _run(_prepare_cmd(data, out))
        assert resumed.returncode == 0, resumed.stderr
        assert (out / "manifest.csv").read_bytes() == (tmp_path / "clean" / "manifest.csv").read_bytes()


@pytest.mark.slow
def test_real_read_only_media(tmp_path):
    """A finished cache re-run on a read-only mount succeeds without writing; a new output there fails in one line."""
    data = make_generic(tmp_path / "data")
    cache = tmp_path / "cache"
    assert _run(_prepare_cmd(data, cache)).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    with _read_only(cache, tmp_path / "ro") as ro:
        again = _run(_prepare_cmd(data, ro))
        assert again.returncode == 0, again.stderr
        assert "6 " in again.stdout  # the summary table: six videos, all resumed
        fresh = _run(_prepare_cmd(data, ro / "other"))
        assert fresh.returncode == 1
        assert fresh.stderr.strip().splitlines()[-1] == (
            f"error: {ro / 'other'}: cannot write: the file system is read-only; write the output elsewhere"
        )
        assert "Traceback" not in fresh.stderr
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == before


@pytest.mark.slow
def test_real_full_disk_during_training(tmp_path):
    """``stasn train`` whose run folder is on a 1 MiB tmpfs: the first checkpoint does not fit. One line naming
    the path, exit 1, no partial checkpoint."""
    cache = make_tiny_cache(tmp_path / "cache", face_size=64, highres_size=128)
    with _tmpfs(tmp_path / "small", "1m") as disk:
        config = {
            "name": "tiny",
            "output_dir": str(disk / "runs"),
            "model": TINY_MODEL,
            "data": {"cache": str(cache), "batch_size": 4, "num_workers": 0},
            "train": {"stages": [{"stage": "joint", "epochs": 1}], "limit_train_batches": 1},
        }
        (tmp_path / "tiny.yaml").write_text(json.dumps(config))
        result = _run([sys.executable, "-c", "from stasn.cli.main import app; app()", "train", "-c",
                       str(tmp_path / "tiny.yaml"), "--no-test"])  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr[-3000:]
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "no space left on the device" in errors[0], result.stderr[-3000:]
        assert str(disk / "runs" / "tiny") in errors[0]
        assert "Traceback" not in result.stderr
        assert not list((disk / "runs").rglob("*.ckpt")), "a partial checkpoint was left"
