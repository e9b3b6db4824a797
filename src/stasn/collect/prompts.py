"""What the operator and the subject are told during a capture: on an OpenCV window when this machine has a display,
as plain lines of text otherwise.

``has_display()`` decides: on Linux without ``DISPLAY``/``WAYLAND_DISPLAY`` there is none, and a headless OpenCV
build (``opencv-python-headless``, what stasn installs) has no window functions at all; both fall back to text
without an error. Only a camera source waits for the operator (Enter) and counts down; a file source is read at once.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence

import cv2
import numpy as np

__all__ = ["LIVE_PROMPTS", "has_display", "Prompter", "TextPrompter", "WindowPrompter", "make_prompter", "spread"]

log = logging.getLogger(__name__)

# Spread over a live clip, in this order: pose, distance and light change within one clip (ours).
LIVE_PROMPTS = (
    "look straight at the camera",
    "turn your head slowly left and right",
    "move closer to the camera",
    "move back a little",
    "change the light: switch a lamp on or off, or turn towards a window",
)
_PROBE = "stasn-display-probe"
_WINDOW = "stasn collect"
_PLAYER = "stasn replay"


def has_display() -> bool:
    """Whether OpenCV can open a window here (a display server, and an OpenCV build with GUI support)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow(_PROBE, cv2.WINDOW_NORMAL)
        cv2.destroyWindow(_PROBE)
    except cv2.error:  # headless build: "The function is not implemented"
        return False
    return True


class Prompter:
    """The interface captures talk to (and the text version of it).

    Args:
        echo: where lines go (default: this module's logger at INFO).
        read_line: how to wait for the operator (default :func:`input`); tests pass a stub.
        sleep: the countdown's clock (default :func:`time.sleep`).
    """

    window = False

    def __init__(
        self,
        echo: Callable[[str], None] | None = None,
        *,
        read_line: Callable[[str], str] = input,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.echo = echo or log.info
        self.read_line = read_line
        self.sleep = sleep

    def say(self, text: str) -> None:
        """Tell the operator something."""
        self.echo(text)

    def wait(self, text: str) -> None:
        """Wait until the operator is ready (Enter)."""
        self.read_line(f"{text} -- press Enter when ready ")

    def countdown(self, seconds: int) -> None:
        for k in range(seconds, 0, -1):
            self.echo(f"  {k}...")
            self.sleep(1.0)
        self.echo("  recording")

    def prompt(self, at_seconds: float, text: str) -> None:
        """A prompt for the subject at a moment of the clip."""
        self.echo(f"  [{at_seconds:4.1f} s] {text}")

    def show(self, frame: np.ndarray, caption: str = "") -> bool:
        """Show a camera frame (text mode: nothing). Returns False when the operator asked to stop."""
        return True

    def play(self, frame: np.ndarray) -> None:
        """Show a frame of the clip being replayed on this machine's screen (full screen)."""
        raise RuntimeError("playing a clip needs a display")

    def close(self) -> None:
        """Close any window."""


TextPrompter = Prompter


class WindowPrompter(Prompter):
    """Prompts drawn on the camera preview in an OpenCV window (q or Esc stops a recording)."""

    window = True

    def __init__(self, echo: Callable[[str], None] | None = None, **kwargs) -> None:
        super().__init__(echo, **kwargs)
        self._caption = ""
        self._last: np.ndarray | None = None
        cv2.namedWindow(_WINDOW, cv2.WINDOW_NORMAL)

    def say(self, text: str) -> None:
        super().say(text)
        self._caption = text
        self._redraw()

    def wait(self, text: str) -> None:
        self.say(f"{text} -- press any key in this window when ready")
        cv2.waitKey(0)

    def countdown(self, seconds: int) -> None:
        for k in range(seconds, 0, -1):
            self._caption = f"{k}..."
            self._redraw()
            cv2.waitKey(1000)
        self._caption = "recording"

    def prompt(self, at_seconds: float, text: str) -> None:
        super().prompt(at_seconds, text)
        self._caption = text

    def show(self, frame: np.ndarray, caption: str = "") -> bool:
        self._last = frame
        self._redraw(caption)
        return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)

    def play(self, frame: np.ndarray) -> None:
        cv2.namedWindow(_PLAYER, cv2.WINDOW_NORMAL)
        cv2.setWindowProperty(_PLAYER, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
        cv2.imshow(_PLAYER, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def _redraw(self, caption: str = "") -> None:
        canvas = np.zeros((480, 640, 3), np.uint8) if self._last is None else self._last.copy()
        text = caption or self._caption
        if text:
            scale = max(0.6, canvas.shape[1] / 900)
            cv2.rectangle(canvas, (0, 0), (canvas.shape[1], int(40 * scale)), (0, 0, 0), -1)
            cv2.putText(canvas, text, (10, int(28 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 0), 2)
        cv2.imshow(_WINDOW, cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
        cv2.waitKey(1)

    def close(self) -> None:
        cv2.destroyAllWindows()


def make_prompter(window: bool | None = None, echo: Callable[[str], None] | None = None) -> Prompter:
    """A :class:`WindowPrompter` when ``window`` (``None``: when :func:`has_display`), else text.

    Asking for a window where there is no display falls back to text with a warning, never an error: the capture
    itself does not need one.
    """
    if window is None:
        window = has_display()
    elif window and not has_display():
        (echo or log.warning)("no display here (or OpenCV without GUI support): prompts come as text")
        window = False
    return WindowPrompter(echo) if window else Prompter(echo)


def spread(prompts: Sequence[str], count: int) -> dict[int, str]:
    """Frame index at which each prompt appears when ``prompts`` are spread evenly over ``count`` frames."""
    if not prompts or count <= 0:
        return {}
    return {int(i * count / len(prompts)): text for i, text in enumerate(prompts)}
