"""Marker boards for device templates: a ChArUco board (OpenCV's ``cv2.aruco``) laid out to fill a screen of any size.

The operator shows the board full-screen on a phone, tablet or monitor and films the device; ``stasn templates
extract`` finds the board's corners in every frame and, since it knows where each corner sits on the screen, the
screen's quadrilateral (:mod:`stasn.synth.templates`).

Screen coordinates are panel pixels in OpenCV's convention: pixel ``(i, j)`` is centred at ``(i, j)`` and the screen
spans ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``. The board is a grid of black and white squares (ArUco markers in the
white ones) centred on a white margin; a thin red frame runs along the screen's very edge, so the operator sees at a
glance that the whole image is on the screen (a gallery app that crops or letterboxes it would move the screen's
corners away from where stasn believes they are).

Boards of every screen a template folder knows are listed in its ``board.json`` (:func:`write_board`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from stasn.fileio import write_bytes_atomic, write_text_atomic

__all__ = [
    "BoardLayout",
    "board_layout",
    "parse_screen_size",
    "write_board",
    "read_boards",
    "BOARD_JSON",
    "DEVICE_KINDS",
]

BOARD_JSON = "board.json"
DEVICE_KINDS = ("phone", "tablet", "monitor")  # the presets of stasn.synth.devices (sub-pixel layouts, contrast)
_MARGIN = 0.04  # white margin around the board, fraction of the screen's short side: rounded corners and notches
_EDGE = 0.006  # red edge frame, fraction of the short side (at least 2 px)
_EDGE_RGB = (230, 30, 30)
# Dictionaries by marker count: the smaller the dictionary, the larger the distance between its codes.
_DICTIONARIES = ((50, "DICT_4X4_50"), (100, "DICT_4X4_100"), (250, "DICT_4X4_250"), (1000, "DICT_4X4_1000"))


@dataclass(frozen=True)
class BoardLayout:
    """A ChArUco board placed on a ``W x H`` screen.

    Attributes:
        screen: ``(W, H)`` panel pixels.
        squares: squares across and down.
        square_px: side of one square, panel pixels.
        offset: panel pixel of the board's top-left corner (the board spans ``offset + [0, squares * square_px)``).
        marker_ratio: marker side / square side.
        dictionary: the ``cv2.aruco`` predefined dictionary's name.
        device: ``"phone"``, ``"tablet"`` or ``"monitor"``: which display preset template-mode synthesis draws the
            panel's sub-pixel layout and contrast from.
    """

    screen: tuple[int, int]
    squares: tuple[int, int]
    square_px: int
    offset: tuple[int, int]
    marker_ratio: float = 0.7
    dictionary: str = "DICT_4X4_50"
    device: str = "phone"

    def __post_init__(self) -> None:
        w, h = self.screen
        sx, sy = self.squares
        if min(sx, sy) < 3:
            raise ValueError(f"BoardLayout.squares must be at least 3 x 3, got {self.squares}")
        if self.offset[0] < 0 or self.offset[1] < 0 or self.offset[0] + sx * self.square_px > w:
            raise ValueError(f"BoardLayout: a {sx} x {sy} board of {self.square_px} px squares does not fit {w} x {h}")
        if self.offset[1] + sy * self.square_px > h:
            raise ValueError(f"BoardLayout: a {sx} x {sy} board of {self.square_px} px squares does not fit {w} x {h}")
        if not 0.3 <= self.marker_ratio <= 0.9:
            raise ValueError(f"BoardLayout.marker_ratio must be in [0.3, 0.9], got {self.marker_ratio}")
        if self.device not in DEVICE_KINDS:
            raise ValueError(f"Unknown device kind {self.device!r}. Valid values are {{{', '.join(DEVICE_KINDS)}}}.")
        if not hasattr(cv2.aruco, self.dictionary):
            raise ValueError(f"BoardLayout.dictionary: cv2.aruco has no {self.dictionary!r}")

    def board(self) -> cv2.aruco.CharucoBoard:
        """The ``cv2.aruco.CharucoBoard`` (square side 1, so its corner coordinates are in squares)."""
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard(self.squares, 1.0, self.marker_ratio, dictionary)

    def corner_positions(self) -> np.ndarray:
        """Screen positions of the board's inner (ChArUco) corners, in corner-id order: float64 ``[N, 2]``.

        Corner ``(k, l)`` of the grid lies on the boundary between panel pixels ``k * square_px - 1`` and
        ``k * square_px`` from the board's origin, i.e. at ``offset + k * square_px - 0.5``.
        """
        grid = self.board().getChessboardCorners()[:, :2].astype(np.float64)
        return grid * self.square_px + np.asarray(self.offset, np.float64) - 0.5

    def screen_corners(self) -> np.ndarray:
        """The screen's outer corners, clockwise from top-left: float64 ``[4, 2]`` panel pixels."""
        w, h = self.screen
        return np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], np.float64)

    def image(self) -> np.ndarray:
        """What the screen shows: uint8 ``[H, W, 3]`` RGB (the board on white, the red edge frame)."""
        w, h = self.screen
        sx, sy = self.squares
        canvas = np.full((h, w, 3), 255, np.uint8)
        board = self.board().generateImage((sx * self.square_px, sy * self.square_px), marginSize=0, borderBits=1)
        x0, y0 = self.offset
        canvas[y0 : y0 + board.shape[0], x0 : x0 + board.shape[1]] = board[..., None]
        edge = max(2, round(_EDGE * min(w, h)))
        canvas[:edge], canvas[-edge:], canvas[:, :edge], canvas[:, -edge:] = (_EDGE_RGB,) * 4
        return canvas

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict) -> BoardLayout:
        try:
            return cls(
                screen=tuple(record["screen"]),
                squares=tuple(record["squares"]),
                square_px=int(record["square_px"]),
                offset=tuple(record["offset"]),
                marker_ratio=float(record.get("marker_ratio", 0.7)),
                dictionary=str(record.get("dictionary", "DICT_4X4_50")),
                device=str(record.get("device", "phone")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a board layout record ({exc}): {record!r}") from None


def board_layout(width: int, height: int, *, squares: int = 5, device: str = "phone") -> BoardLayout:
    """The largest board with ``squares`` squares along the screen's short side that fits a ``width x height`` screen
    inside a white margin (4 % of the short side).

    Five squares across a phone keep each marker cell about 5 camera pixels wide when the phone fills half the
    height of a 720p frame; raise ``squares`` for screens filmed large (monitors close to the camera).
    """
    if min(width, height) < 64:
        raise ValueError(f"screen must be at least 64 x 64 pixels, got {width} x {height}")
    if not 3 <= squares <= 20:
        raise ValueError(f"squares must be in [3, 20], got {squares}")
    short, long = min(width, height), max(width, height)
    margin = math.ceil(_MARGIN * short)
    side = (short - 2 * margin) // squares
    along = max(3, (long - 2 * margin) // side)
    count = squares * along // 2
    dictionary = next((name for size, name in _DICTIONARIES if count <= size), None)
    if dictionary is None:
        raise ValueError(f"a {squares} x {along} board needs {count} markers, more than any 4x4 dictionary holds")
    sx, sy = (squares, along) if width <= height else (along, squares)
    offset = ((width - sx * side) // 2, (height - sy * side) // 2)
    return BoardLayout((width, height), (sx, sy), side, offset, dictionary=dictionary, device=device)


def parse_screen_size(text: str) -> tuple[int, int]:
    """``"1080x2340"`` -> ``(1080, 2340)``; a clear ``ValueError`` otherwise."""
    parts = text.lower().replace("*", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"screen size {text!r}: expected WIDTHxHEIGHT in pixels, e.g. 1080x2340")
    return int(parts[0]), int(parts[1])


def read_boards(folder: str | Path) -> dict[str, BoardLayout]:
    """The screens a template folder knows: ``{name: BoardLayout}`` from its ``board.json`` (empty when absent)."""
    path = Path(folder) / BOARD_JSON
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return {name: BoardLayout.from_dict(r) for name, r in record["screens"].items()}
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"{path}: not a stasn board file ({exc})") from None


def write_board(
    folder: str | Path,
    name: str,
    width: int,
    height: int,
    *,
    squares: int = 5,
    device: str = "phone",
    seconds: float = 10.0,
    fps: float = 10.0,
) -> tuple[BoardLayout, list[Path]]:
    """Write the board for one screen: ``boards/<name>.png`` (full-screen image), ``boards/<name>.mp4`` (the same
    image as a ``seconds`` long video, for devices that play videos more readily than they show images) and its
    entry in ``board.json``. Every file is written atomically; an existing screen of the same name is replaced.

    Returns:
        ``(layout, written paths)``.
    """
    from stasn.data.video import VideoWriter

    if not name or not all(c.isalnum() or c in "._-" for c in name) or name.startswith("."):
        raise ValueError(f"screen name {name!r}: use letters, digits, '.', '_' and '-' only")
    if seconds < 0:
        raise ValueError(f"seconds must be >= 0, got {seconds}")
    folder = Path(folder)
    boards = read_boards(folder)
    layout = board_layout(width, height, squares=squares, device=device)
    image = layout.image()
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover - OpenCV failure
        raise RuntimeError("PNG encoding failed")
    written = [write_bytes_atomic(folder / "boards" / f"{name}.png", png.tobytes())]
    frames = max(1, round(seconds * fps))
    if seconds > 0:
        with VideoWriter(folder / "boards" / f"{name}.mp4", fps=fps) as writer:
            for _ in range(frames):
                writer.write(image)
        written.append(writer.path)
    boards[name] = layout
    record = {"version": 1, "screens": {k: v.to_dict() for k, v in sorted(boards.items())}}
    written.append(write_text_atomic(folder / BOARD_JSON, json.dumps(record, indent=2) + "\n"))
    return layout, written
