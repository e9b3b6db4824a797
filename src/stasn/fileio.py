"""Writing files so that a crash, a kill or a full disk never leaves a half-written output behind.

Every output of stasn (crops, manifests, reports, checkpoints, ONNX files) is written to a temporary name in the
same folder and renamed into place: ``os.replace`` is atomic on one filesystem. The file gets the mode a plain
``open(path, "w")`` would give it (``0666`` less the umask, so usually ``0644``), not ``mkstemp``'s ``0600``.

A write that fails because the disk is full, the file system is read-only or permission is denied raises
:class:`~stasn.errors.OutputError` with one line naming the path and what to do; the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from stasn.errors import OutputError

__all__ = ["atomic_path", "write_text_atomic", "write_bytes_atomic", "write_error_message", "WRITE_ERRNOS"]

# errno values that mean "this output cannot be written here", with what the user can do about it.
_WRITE_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space (or write elsewhere) and run again",
    errno.EDQUOT: "disk quota exceeded; free some space (or write elsewhere) and run again",
    errno.EFBIG: "file too large for this file system; write elsewhere",
    errno.EROFS: "the file system is read-only; write the output elsewhere",
    errno.EACCES: "permission denied; write the output to a folder you may write to, or fix its permissions",
    errno.EPERM: "operation not permitted; write the output to a folder you may write to, or fix its permissions",
}
WRITE_ERRNOS = frozenset(_WRITE_HINTS)
_umask_lock = threading.Lock()


def write_error_message(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """One line for an ``OSError`` whose errno is in :data:`WRITE_ERRNOS`: ``"<path>: cannot write: <hint>"``;
    ``path`` (the output meant) is named instead of the error's own file name (often a temporary one)."""
    where = path if path is not None else exc.filename
    hint = _WRITE_HINTS.get(exc.errno or 0, exc.strerror or str(exc))
    return f"{where}: cannot write: {hint}" if where else f"cannot write: {hint}"


def _file_mode() -> int:
    """``0o666`` less the process umask (read from /proc without changing it where possible)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _umask_lock:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on error delete it.

    Example::

        with atomic_path("out/report.html") as tmp:
            tmp.write_text(html)
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    except OSError as exc:
        if exc.errno in WRITE_ERRNOS:
            raise OutputError(write_error_message(exc, path.parent)) from None
        raise
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, _file_mode())
    finally:
        os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            raise OutputError(write_error_message(exc, path)) from None
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
