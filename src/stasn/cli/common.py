"""Shared CLI helpers: turn library errors into one line and a non-zero exit; progress bars for the library's
``progress(done, total)`` callbacks (rich stays in the CLI)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import typer

from stasn.errors import StasnError
from stasn.fileio import WRITE_ERRNOS, write_error_message

__all__ = ["user_errors", "setup_logging", "progress_bar"]

_PATH_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print ``error: <message>`` on stderr and exit 1 for errors that are the user's input or the machine's
    (a full disk, a read-only folder, no permission), not a bug. Other exceptions keep their traceback."""
    try:
        yield
    except OSError as exc:
        if not isinstance(exc, (*_PATH_ERRORS, PermissionError)) and exc.errno in WRITE_ERRNOS:
            # a full disk or a read-only folder, also when it comes from Lightning, PyAV or a worker process
            _fail(write_error_message(exc))
        if not isinstance(exc, (*_PATH_ERRORS, PermissionError)):
            raise
        _fail(_first_line(exc))
    except (StasnError, ValueError) as exc:
        _fail(_first_line(exc))


def _first_line(exc: BaseException) -> str:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in message:
        message = f"{exc.filename}: {message}"
    return message


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")


@contextlib.contextmanager
def progress_bar(action: str, unit: str = "videos") -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar, e.g. ``preparing [====    ] 12/40 videos 0:01:10``; yields the ``progress(done, total)``
    callback that :func:`stasn.data.prepare.prepare_samples` and :func:`stasn.synth.synthesize_cache` call."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn(action), BarColumn(), MofNCompleteColumn(), TextColumn(unit), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(action, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
