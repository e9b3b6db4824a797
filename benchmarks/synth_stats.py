"""Do synthesized replays look like real replays? Four simple image statistics, side by side (the learned test,
which sees far more, is ``benchmarks/synth_realism.py``).

Usage::

    .venv/bin/python benchmarks/synth_stats.py [--count 80] [--per-live 2] [--seed 0]
        [--shared ../shared] [--sheet /tmp/synth_realism_sheet.png]

Groups:

* ``real live`` / ``real replay``: the crops of ``shared/data/replay-crops-dev`` (manifest label 0 / 1; detector
  boxes from 6 public liveness projects, mostly phone/monitor replays).
* ``NUAA live (input)``: live webcam frames of ``shared/data/nuaa-raw-train/ClientRaw``, face found with YuNet
  (``shared/models/yunet``), cropped square at 1.3 x the box (``CacheInfo.crop_scale``) and resized to 448 px, as
  ``stasn prepare`` would; frames without a face are skipped.
* ``synth replay``: :class:`stasn.synth.ReplaySynthesizer` applied to those inputs (default ranges).

Every image is reduced to its central face region (the middle 1 / 1.3 of our crops; the central square of the real
crops, which are tight detector boxes), resized to 112 x 112 (area averaging), and measured:

* ``hf``: share of the grey image's AC spectral power above 0.25 cycles/pixel (Hann window), in percent;
* ``sat``: mean HSV saturation (0-1);
* ``sharp``: variance of the Laplacian of the grey image (log10);
* ``contrast``: standard deviation of the grey image / 255.

The table gives mean, std and the 5-95 % range per group, and how much of the real replays' 5-95 % range the
synthesized 5-95 % range covers. A contact sheet (real replays, synthesized replays, inputs) goes to ``--sheet``;
it is derived from ``../shared`` data, so keep it out of the repository.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.table import Table

from stasn.data.manifest import CacheInfo
from stasn.synth import ReplaySynthesizer

STATS = ("hf", "sat", "sharp", "contrast")
_SIDE = 112


def face_region(image: np.ndarray, *, our_crop: bool) -> np.ndarray:
    """The central face square at ``_SIDE`` px: the middle 1/crop_scale of our crops, the central square otherwise."""
    h, w = image.shape[:2]
    side = min(h, w) / (CacheInfo().crop_scale if our_crop else 1.0)
    y0, x0 = int(round((h - side) / 2)), int(round((w - side) / 2))
    square = image[y0 : y0 + int(side), x0 : x0 + int(side)]
    interp = cv2.INTER_AREA if square.shape[0] > _SIDE else cv2.INTER_CUBIC
    return cv2.resize(square, (_SIDE, _SIDE), interpolation=interp)


def measure(rgb: np.ndarray) -> dict[str, float]:
    """The four statistics of one ``_SIDE`` x ``_SIDE`` RGB face region."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    window = np.hanning(_SIDE)[:, None] * np.hanning(_SIDE)[None, :]
    power = np.abs(np.fft.fft2((grey - grey.mean()) * window)) ** 2
    f = np.fft.fftfreq(_SIDE)
    radius = np.hypot(f[:, None], f[None, :])
    power[0, 0] = 0.0
    hf = 100.0 * power[radius > 0.25].sum() / max(power.sum(), 1e-9)
    sat = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1].mean() / 255.0
    sharp = np.log10(cv2.Laplacian(grey, cv2.CV_64F).var() + 1e-6)
    return {"hf": hf, "sat": sat, "sharp": sharp, "contrast": grey.std() / 255.0}


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: cannot read image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def real_crops(shared: Path) -> dict[int, list[np.ndarray]]:
    """Real crops by label (0 live, 1 replay) from ``replay-crops-dev``."""
    root = shared / "data" / "replay-crops-dev"
    out: dict[int, list[np.ndarray]] = {0: [], 1: []}
    with (root / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            out[int(row["label"])].append(read_rgb(root / row["path"]))
    return out


def nuaa_inputs(shared: Path, count: int, size: int = 448) -> list[np.ndarray]:
    """``count`` live NUAA frames (evenly spaced), face-cropped with YuNet like ``stasn prepare``."""
    files = sorted((shared / "data" / "nuaa-raw-train" / "ClientRaw").rglob("*.jpg"))
    model = shared / "models" / "yunet" / "face_detection_yunet_2026may.onnx"
    detector = cv2.FaceDetectorYN.create(str(model), "", (640, 480), 0.7)
    crops = []
    for path in files[:: max(1, len(files) // count)][:count]:
        bgr = cv2.imread(str(path))
        detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = detector.detect(bgr)
        if faces is None:
            continue
        x, y, w, h = faces[np.argmax(faces[:, 2] * faces[:, 3]), :4]
        side = CacheInfo().crop_scale * max(w, h)
        cx, cy = x + w / 2, y + h / 2
        m = np.array([[1, 0, side / 2 - cx], [0, 1, side / 2 - cy]], np.float32)
        square = cv2.warpAffine(bgr, m, (int(side), int(side)), borderMode=cv2.BORDER_REPLICATE)
        crops.append(cv2.cvtColor(cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB))
    return crops


def summarize(values: list[dict[str, float]]) -> dict[str, tuple[float, float, float, float]]:
    """Per statistic: mean, std, 5th and 95th percentile."""
    out = {}
    for stat in STATS:
        v = np.array([x[stat] for x in values])
        out[stat] = (v.mean(), v.std(), np.percentile(v, 5), np.percentile(v, 95))
    return out


def coverage(synth: tuple, real: tuple) -> float:
    """Share of the real 5-95 % interval inside the synthesized 5-95 % interval."""
    lo, hi = max(synth[2], real[2]), min(synth[3], real[3])
    return max(0.0, hi - lo) / max(real[3] - real[2], 1e-9)


def sheet(rows: list[list[np.ndarray]], path: Path, tile: int = 112) -> None:
    width = max(len(r) for r in rows)
    canvas = np.full((len(rows) * tile, width * tile, 3), 20, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            canvas[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile] = cv2.resize(image, (tile, tile))
    cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=80, help="NUAA live frames to synthesize from")
    parser.add_argument("--per-live", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--sheet", type=Path, default=Path("/tmp/synth_realism_sheet.png"))
    args = parser.parse_args()

    real = real_crops(args.shared)
    inputs = nuaa_inputs(args.shared, args.count)
    synth = ReplaySynthesizer()
    rng = np.random.default_rng(args.seed)
    spoofs = [synth(image, rng)[0] for image in inputs for _ in range(args.per_live)]
    groups = {
        "real live": [face_region(x, our_crop=False) for x in real[0]],
        "real replay": [face_region(x, our_crop=False) for x in real[1]],
        "NUAA live (input)": [face_region(x, our_crop=True) for x in inputs],
        "synth replay": [face_region(x, our_crop=True) for x in spoofs],
    }
    stats = {name: summarize([measure(x) for x in images]) for name, images in groups.items()}

    table = Table(title="face-region statistics (mean ± std [5 % .. 95 %])")
    table.add_column("group")
    table.add_column("n", justify="right")
    for stat in STATS:
        table.add_column(stat)
    for name, images in groups.items():
        cells = [f"{m:.3g} ± {s:.2g} [{lo:.3g} .. {hi:.3g}]" for m, s, lo, hi in (stats[name][k] for k in STATS)]
        table.add_row(name, str(len(images)), *cells)
    cover = [f"{100 * coverage(stats['synth replay'][k], stats['real replay'][k]):.0f} %" for k in STATS]
    table.add_row("synth covers real replay 5-95 %", "", *cover)
    Console(width=170).print(table)

    real_picks = groups["real replay"][:: max(1, len(groups["real replay"]) // 30)][:30]  # across all 6 projects
    synth_picks = groups["synth replay"][:: max(1, len(groups["synth replay"]) // 40)][:40]
    rows = [real_picks[i : i + 10] for i in range(0, 30, 10)]
    rows += [synth_picks[i : i + 10] for i in range(0, 40, 10)]
    rows += [groups["NUAA live (input)"][:: max(1, len(inputs) // 10)][:10]]
    sheet(rows, args.sheet)
    Console().print(f"contact sheet (3 rows real replay, 4 rows synth replay, 1 row inputs): {args.sheet}")


if __name__ == "__main__":
    main()
