"""benchmarks/synth_realism.py's pieces that decide what its numbers mean: the framing of replays synthesized from
a project's live images (not squeezed, borders kept) and the probe's views and image statistics (no data needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from stasn.synth import ReplayParams, ReplaySynthesizer
from stasn.synth.recapture import CaptureParams, ViewParams

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "synth_realism.py"


@pytest.fixture(scope="module")
def realism():
    sys.path.insert(0, str(BENCH.parent))  # it imports generalization.py from beside it
    spec = importlib.util.spec_from_file_location("synth_realism_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Fixed:
    """A synthesizer stand-in that always draws the same parameters (frontal, no effects) and renders them."""

    def __init__(self, params: ReplayParams) -> None:
        self.params, self.synth = params, ReplaySynthesizer()

    def sample_params(self, rng, size=None):
        self.size = size  # what the camera's resolution was drawn against
        return self.params

    def apply(self, image, params):
        return self.synth.apply(image, params)


def _ideal(realism) -> ReplayParams:
    padded = 1 + 2 * realism._MARGIN
    return ReplayParams(
        face_fraction=realism._FACE_SHARE / padded,
        face_scale=0.5,
        view=ViewParams(crop_scale=1.0 / padded),  # the frame is the live image's square, as _BOX_SCALE ~1
        capture=CaptureParams(sensor_px=200, demosaic="none", codec="none"),
    )


def _bright_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return xs.min(), xs.max(), ys.min(), ys.max()


def test_source_replay_keeps_the_aspect_and_the_borders(realism):
    # A portrait "live crop" (h = 1.5 w): a bright 24 x 24 square in the middle, a bright right border column.
    image = np.full((96, 64, 3), 40, np.uint8)
    image[36:60, 20:44] = 220
    image[:, -4:] = 220
    fixed = _Fixed(_ideal(realism))
    attack, params, side = realism.source_replay(image, fixed, np.random.default_rng(0))
    assert attack.shape == image.shape and side % 2 == 0 and side >= 96 * (1 + 2 * realism._MARGIN) - 1
    assert fixed.size == (64, 96)  # the camera is sized against the live image, not the padded square
    grey = attack.mean(axis=2)
    x0, x1, y0, y1 = _bright_box(grey[:, : 64 - 8] > 128)  # the square (left of the border column)
    width, height = x1 - x0 + 1, y1 - y0 + 1
    assert abs(width - 24) <= 3 and abs(height - 24) <= 3, (width, height)  # squeezed would be 16 x 24
    assert abs((x0 + x1) / 2 - 31.5) <= 2 and abs((y0 + y1) / 2 - 47.5) <= 2
    # The live image's own border is the replay's border (not the synthesizer's blurred surround).
    assert grey[20:76, -2:].mean() > 128 and grey[20:76, :2].mean() < 100


def test_source_ranges_frame_the_live_image(realism):
    r = realism.source_ranges()
    padded = 1 + 2 * realism._MARGIN
    assert r.face_fraction == pytest.approx(realism._FACE_SHARE / padded)
    assert r.view.crop_scale == pytest.approx(tuple(v / padded for v in realism._BOX_SCALE))


def test_view_inputs(realism):
    flat = np.full((128, 128, 3), 90, np.uint8)
    assert (realism._view_input(flat, "highpass") == 128).all()  # no texture: mid-grey
    colour = np.zeros((128, 128, 3), np.uint8)
    colour[..., 0] = 200
    grey = realism._view_input(colour, "grey")
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert realism._view_input(colour, "rgb") is colour
    with pytest.raises(ValueError, match="unknown view"):
        realism._view_input(flat, "fourier")


def test_image_statistics_known_inputs(realism):
    flat = np.full((128, 128, 3), 100, np.uint8)
    s = realism.image_statistics(flat)
    assert s["centre grey"] == pytest.approx(100, abs=0.5)
    assert s["contrast"] == pytest.approx(0) and s["sharpness"] == pytest.approx(0)
    assert s["noise"] == 0 and s["ring edges"] == 0 and s["ring - centre grey"] == pytest.approx(0)
    # A bright centre on a dark ring; a bluish tint.
    image = np.full((128, 128, 3), 20, np.uint8)
    image[32:96, 32:96] = (100, 120, 180)
    s = realism.image_statistics(image)
    assert s["blue/green"] == pytest.approx(181 / 121) and s["red/green"] == pytest.approx(101 / 121)
    assert s["ring - centre grey"] < -80 and s["contrast"] > 40
    # 8 x 8 blocks: steps only across block borders.
    blocks = np.kron(np.random.default_rng(0).integers(0, 255, (16, 16)), np.ones((8, 8))).astype(np.uint8)
    assert realism.image_statistics(np.repeat(blocks[..., None], 3, axis=2))["blockiness"] > 10


def test_a_pool_made_with_only_one_kind_is_not_reused_for_the_other(realism, tmp_path, monkeypatch):
    monkeypatch.setattr(realism, "OUT", tmp_path)
    pool = tmp_path / "synth-t-s0"
    pool.mkdir()
    (pool / ".done").write_text("12 s\nprints\n")
    assert realism.synth_pools({}, {}, "t", 0, "source", prints=True, replays=False) == pool
    with pytest.raises(SystemExit, match="made with prints only"):
        realism.synth_pools({}, {}, "t", 0, "source", prints=True, replays=True)
    (pool / ".done").write_text("12 s\n")  # finished before the parts were recorded: both
    assert realism.synth_pools({}, {}, "t", 0, "source") == pool


def test_parameter_table_finds_the_parameter_that_gives_samples_away(realism):
    """Scores driven by the size of one signed parameter (plus noise): its ``|name|`` row leads the table with a
    large rho and its real-looking quarter sits at the low end; an unrelated parameter's rho is near 0; constant
    parameters are left out; categories get mean ranks."""
    rng = np.random.default_rng(0)
    n = 400
    roll = rng.uniform(-8, 8, n)
    other = rng.uniform(0, 1, n)
    records = [
        {
            "view": {"pose": {"roll": float(r)}},
            "white_point": float(o),
            "device": "phone" if i % 2 else "monitor",
            "offset": [1.0, 2.0],
        }
        for i, (r, o) in enumerate(zip(roll, other, strict=True))
    ]
    flat = realism.flat_parameters(records[0])
    assert set(flat) == {"view.pose.roll", "white_point", "device", "offset.0", "offset.1"}
    lines = realism.parameter_table(records, np.abs(roll) + rng.normal(0, 1.0, n))
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in lines if line.startswith("| ")}
    first = next(line for line in lines if line.startswith("| ") and "parameter" not in line and "---" not in line)
    assert first.startswith("| |view.pose.roll| |")
    cells = rows["|view.pose.roll|"]
    rho, real_median, surest_median = float(cells[2]), float(cells[4]), float(cells[5].rstrip(" |"))
    assert rho > 0.7 and real_median < 2.5 < 6.0 < surest_median
    assert abs(float(rows["white_point"][2])) < 0.15
    assert abs(float(rows["view.pose.roll"][2])) < 0.15  # the sign alone says nothing
    assert "offset.0" not in rows and "device" in rows
    assert int(cells[1]) == n  # every sample has a size, not only the negative ones


class _Face:
    def __init__(self, score: float, upright: bool) -> None:
        eyes, mouth = (10.0, 20.0) if upright else (20.0, 10.0)
        self.score = score
        self.landmarks = np.array([[5, eyes], [15, eyes], [10, 15], [7, mouth], [13, mouth]], float)


class _MarkedDetector:
    """Finds a face in every orientation of a marked image: an "upright" one also in the unturned sideways image
    (YuNet's failure on some sideways crops), the surest upright one after one quarter turn."""

    def __init__(self, image: np.ndarray) -> None:
        self.faces = {}
        for k, face in ((0, _Face(0.5, True)), (1, _Face(0.9, True)), (3, _Face(0.95, False)), (2, _Face(0.4, False))):
            self.faces[np.rot90(image, k).tobytes()] = [face]

    def detect(self, image):
        return self.faces[np.ascontiguousarray(image).tobytes()]


def test_upright_turns_of_a_crop_known_to_be_sideways(realism):
    image = np.zeros((6, 6, 3), np.uint8)
    image[0, 1] = 255  # every quarter turn differs
    detector = _MarkedDetector(image)
    assert realism._upright_turns(image, detector) == 0  # unflagged: YuNet's "upright" face is taken as it is
    assert realism._upright_turns(image, detector, sideways=True) == 1  # flagged: the upright one of the two turns


def test_spectrum_bands_see_an_upsampled_camera(realism):
    """White noise has about the same power in every band; the same noise upsampled 2x (a small sensor on a large
    image) loses the top bands, by orders of magnitude, and keeps the low ones."""
    import cv2

    noise = np.random.default_rng(0).normal(128, 30, (128, 128)).clip(0, 255).astype(np.uint8)
    small = cv2.resize(noise, (64, 64), interpolation=cv2.INTER_AREA)
    upsampled = cv2.resize(small, (128, 128), interpolation=cv2.INTER_LINEAR)
    flat, soft = realism.spectrum_bands(noise), realism.spectrum_bands(upsampled)
    assert flat.shape == soft.shape == (len(realism.SPECTRUM_BANDS),)
    assert abs(flat[-1] - flat[2]) < 0.3  # white: flat
    assert soft[-1] < flat[-1] - 1.0 and abs(soft[1] - flat[1]) < 0.5
    colour = np.dstack([noise] * 3)
    assert np.allclose(realism.spectrum_bands(colour), flat, atol=1e-6)  # RGB in: its grey


def test_centre_only_greys_the_ring_of_every_crop_and_keeps_the_face(realism, tmp_path):
    import cv2

    source = tmp_path / "pool"
    (source / "crops" / "a").mkdir(parents=True)
    image = np.full((100, 100, 3), 200, np.uint8)
    image[:, :10] = 0  # a dark band at the left edge: the ring
    cv2.imwrite(str(source / "crops" / "a" / "000000_highres.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    (source / "manifest.csv").write_text("kept as it is\n")
    target = realism.centre_only(source, tmp_path / "pool-centre60", 0.6)
    masked = cv2.imread(str(target / "crops" / "a" / "000000_highres.jpg")).astype(int)
    assert np.abs(masked[:16] - 128).max() <= 2 and np.abs(masked[:, :16] - 128).max() <= 2  # ring: grey (JPEG blocks)
    assert np.abs(masked[25:75, 25:75] - 200).max() <= 2  # centre: the face as it was
    assert (target / "manifest.csv").read_text() == "kept as it is\n"
    assert not (tmp_path / "pool-centre60.partial").exists()  # written under a temporary name, then renamed
    (target / "manifest.csv").write_text("reused\n")
    assert realism.centre_only(source, target, 0.6) == target  # made once per share
    assert (target / "manifest.csv").read_text() == "reused\n"
    realism.centre_only(source, target, 0.5)  # another share: made again
    assert (target / "manifest.csv").read_text() == "kept as it is\n"


def test_a_later_run_with_other_rows_keeps_the_earlier_rows_of_its_tag(realism, tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(realism, "OUT", tmp_path)
    replay, print_, control = realism.ROWS

    def row(auc: float) -> dict:
        return {"auc": auc, "pooled_auc": auc, "fold_auc": [auc], "n": [3, 4], "seed": 0}

    def results(rows: dict, epochs: int = 2) -> dict:
        return {"tag": "t", "classifier": "finetune", "folds": 4, "epochs": epochs, "framing": "source", "rows": rows}

    folder = tmp_path / "results"
    realism._write(results({replay: [row(0.8)]}), planned=[replay])
    realism._write(results({control: [row(0.9)]}), planned=[control])  # --only control after --only replay
    saved = json.loads((folder / "t-finetune.json").read_text())
    assert list(saved["rows"]) == [replay, control] and saved["rows"][replay][0]["auc"] == 0.8
    assert "0.800" in (folder / "t-finetune.md").read_text() and "0.900" in (folder / "t-finetune.md").read_text()
    # a row this run computes replaces the earlier one, even before its first seed is in (no mixed runs)
    realism._write(results({replay: [row(0.7)]}), planned=[replay, print_])
    saved = json.loads((folder / "t-finetune.json").read_text())
    assert saved["rows"][replay][0]["auc"] == 0.7 and list(saved["rows"]) == [replay, control]
    # another recipe (epochs) is another test: nothing of the earlier file is kept
    realism._write(results({print_: [row(0.6)]}, epochs=1), planned=[print_])
    assert list(json.loads((folder / "t-finetune.json").read_text())["rows"]) == [print_]
    assert not list(folder.glob("*.partial"))  # written under temporary names, then renamed
