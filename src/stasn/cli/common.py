"""Shared CLI helpers: turn library errors into one line and a non-zero exit."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import typer

from stasn.errors import StasnError

__all__ = ["user_errors", "setup_logging"]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print ``error: <message>`` on stderr and exit 1 for errors that are the user's input, not a bug."""
    try:
        yield
    except (StasnError, ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in message:
            message = f"{exc.filename}: {message}"
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from None


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")
