"""Exceptions that callers (the CLI, the HTTP service) catch and turn into one line of text."""

from __future__ import annotations

__all__ = ["StasnError", "DataError", "LimitError", "CheckpointError", "WeightsError", "OutputError"]


class StasnError(Exception):
    """Base class: the message is already written for an end user (names the file and what is wrong)."""


class DataError(StasnError, ValueError):
    """Bad or missing input data: a protocol line, a manifest row, an image that cannot be decoded."""


class LimitError(DataError):
    """An input within the format but beyond a size limit (pixels, frames, bytes). The service answers 413."""


class WeightsError(StasnError, ValueError):
    """A weights file that cannot be read or does not fit the model."""


class CheckpointError(StasnError, ValueError):
    """A training checkpoint that cannot be read or lacks what stasn stores in it."""


class OutputError(StasnError):
    """An output that cannot be written: a full disk, a read-only file system, no permission. Nothing half-written
    is left behind (:mod:`stasn.fileio`); the message names the path and what to do."""
