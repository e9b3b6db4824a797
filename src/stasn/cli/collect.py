"""``stasn collect live|replay|template`` and ``stasn templates extract``: guided capture and device templates."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stasn.cli.common import setup_logging, user_errors

__all__ = ["register", "collect_app", "templates_app"]

collect_app = typer.Typer(
    help="Guided capture: live clips, their replays, marker boards for device templates.", no_args_is_help=True
)
templates_app = typer.Typer(help="Real device templates for template-mode replay synthesis.", no_args_is_help=True)

Window = Annotated[
    bool | None, typer.Option("--window/--text", help="Prompts on an OpenCV window or as text (default: window if a "
                              "display is available).")
]  # fmt: skip


class Split(str, Enum):
    train = "train"
    dev = "dev"
    test = "test"


class DeviceKind(str, Enum):
    phone = "phone"
    tablet = "tablet"
    monitor = "monitor"


def _report(summary) -> None:
    console = Console()
    for row in summary.written:
        console.print(f"{row['video_id']}: {row['frames']} frames at {row['fps']} fps")
    for line in summary.skipped:
        console.print(f"[yellow]skipped[/yellow] {line}")
    console.print(f"{len(summary.written)} clips -> {summary.samples} ({summary.seconds:.1f} s)")


@collect_app.command("live")
def live(
    source: Annotated[str, typer.Option(help="webcam:N or a video file (read from its start).")],
    subject: Annotated[str, typer.Option(help="The person's pseudonymous id (letters, digits, . _ -).")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Dataset folder (generic layout; extended).")],
    seconds: Annotated[float, typer.Option(min=0.1, help="Length of each clip.")] = 10.0,
    clips: Annotated[int, typer.Option(min=1, help="Clips in this session.")] = 1,
    session: Annotated[str | None, typer.Option(help="Session id (default: the subject's next s<N>).")] = None,
    split: Annotated[Split, typer.Option(help="Split of this subject (keep each subject in one).")] = Split.train,
    camera: Annotated[str | None, typer.Option(help="Capture camera's name (device column).")] = None,
    light: Annotated[str, typer.Option(help="A note on the light, e.g. 'daylight, window left'.")] = "",
    prompts: Annotated[bool, typer.Option(help="Prompt the subject to turn, move and change the light.")] = False,
    window: Window = None,
) -> None:
    """Record bona fide clips of one subject into a dataset that `stasn prepare --dataset generic` reads.

    Example: stasn collect live --source webcam:0 --subject p017 --out data/ours --seconds 10 --clips 2 --prompts
    """
    from stasn.collect import collect_live

    setup_logging()
    with user_errors():
        summary = collect_live(
            source, subject, out, seconds=seconds, clips=clips, session=session, split=split.value, camera=camera,
            light=light, prompts=prompts, window=window, echo=typer.echo,
        )  # fmt: skip
    _report(summary)


@collect_app.command("replay")
def replay(
    live: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Dataset holding the live clips.")],
    source: Annotated[str, typer.Option(help="webcam:N or a video file holding the replays one after another.")],
    device: Annotated[str, typer.Option(help="The display the clips are shown on, e.g. phone-a, ipad, monitor27.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Dataset to add the replays to (usually --live).")],
    camera: Annotated[str | None, typer.Option(help="Capture camera's name (device column).")] = None,
    subject: Annotated[list[str] | None, typer.Option(help="Only this subject's clips (repeatable).")] = None,
    play: Annotated[bool, typer.Option(help="Show each clip full screen on this machine while recording.")] = False,
    redo: Annotated[bool, typer.Option(help="Record again clips already replayed on this device.")] = False,
    window: Window = None,
) -> None:
    """Film a replay of every live clip shown on a phone, tablet or monitor; each is paired with its live clip.

    Example: stasn collect replay --live data/ours --source webcam:0 --device phone-a --out data/ours
    """
    from stasn.collect import collect_replay

    setup_logging()
    with user_errors():
        summary = collect_replay(
            live, source, device, out, camera=camera, subjects=subject or None, play=play, window=window, redo=redo,
            echo=typer.echo,
        )  # fmt: skip
    _report(summary)


@collect_app.command("template")
def template(
    out: Annotated[Path, typer.Option(file_okay=False, help="Template folder (boards/ and board.json).")],
    screen: Annotated[str, typer.Option(help="The device's screen in pixels, WIDTHxHEIGHT as held.")] = "1080x2340",
    name: Annotated[str, typer.Option(help="Name of this screen (one board per device).")] = "phone",
    device: Annotated[DeviceKind, typer.Option(help="Kind of device (its sub-pixel layouts).")] = DeviceKind.phone,
    squares: Annotated[int, typer.Option(min=3, max=20, help="Squares along the short side.")] = 5,
    seconds: Annotated[float, typer.Option(min=0.0, help="Length of the board video (0: image only).")] = 10.0,
    show: Annotated[bool, typer.Option(help="Also show the board full screen here (needs a display).")] = False,
) -> None:
    """Write a marker board for a screen (full-screen PNG and MP4) to film on the device for templates.

    Example: stasn collect template --out data/templates --screen 1170x2532 --name iphone13 --device phone
    """
    from stasn.synth.markers import parse_screen_size, write_board

    setup_logging()
    with user_errors():
        width, height = parse_screen_size(screen)
        layout, written = write_board(out, name, width, height, squares=squares, device=device.value, seconds=seconds)
    console = Console()
    for path in written:
        console.print(f"wrote {path}")
    console.print(
        f"{layout.squares[0]} x {layout.squares[1]} squares of {layout.square_px} px. Show boards/{name}.png (or "
        f".mp4) full screen on the device (the red frame must be visible on all four edges), film the device, then: "
        f"stasn templates extract VIDEO... --out {out} --screen {name}"
    )
    if show:
        _show(layout.image(), console)


def _show(image, console: Console) -> None:
    from stasn.collect.prompts import has_display

    if not has_display():
        console.print("no display here (or OpenCV without GUI support): show the PNG on the device instead")
        return
    import cv2

    cv2.namedWindow("stasn board", cv2.WINDOW_NORMAL)
    cv2.setWindowProperty("stasn board", cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
    cv2.imshow("stasn board", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    console.print("showing the board full screen; press any key in its window to close it")
    cv2.waitKey(0)
    cv2.destroyAllWindows()


@templates_app.command("extract")
def extract(
    videos: Annotated[list[Path], typer.Argument(help="Videos of the device showing the board.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Template folder (holds board.json).")],
    screen: Annotated[str | None, typer.Option(help="Screen name in board.json (if it lists several).")] = None,
    stride: Annotated[int, typer.Option(min=1, help="Keep every n-th frame.")] = 1,
    max_frames: Annotated[int | None, typer.Option(min=1, help="Read at most this many frames per video.")] = None,
    min_corners: Annotated[int, typer.Option(min=4, help="Fewer board corners drop the frame.")] = 8,
    smooth: Annotated[int, typer.Option(min=0, help="Temporal smoothing window, frames (odd; < 3 = off).")] = 5,
) -> None:
    """Find the screen in every frame (quad, mask, glass reflection) and store the frames as templates.

    Example: stasn templates extract phone_kitchen.mp4 phone_office.mp4 --out data/templates --screen phone
    """
    from stasn.synth.templates import extract_templates

    setup_logging()
    with user_errors():
        summary = extract_templates(
            videos, out, screen=screen, stride=stride, max_frames=max_frames, min_corners=min_corners, smooth=smooth
        )
    console = Console()
    for clip in summary.clips:
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(clip.dropped.items())) or "none"
        console.print(f"{clip.video}: {clip.kept} of {clip.frames} frames kept (dropped: {dropped}) -> {clip.clip}/")
    console.print(f"index: {summary.index} ({summary.seconds:.1f} s)")


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.add_typer(collect_app, name="collect")
    app.add_typer(templates_app, name="templates")
