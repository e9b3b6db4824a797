"""The release format (weights-only safetensors + JSON card + SHA-256), the shipped model and detector, and scoring
a face the caller located (``face_box`` / ``--boxes``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import shared_path
from stasn.cli.main import app
from stasn.data.detect import BUNDLED_YUNET, GivenBox, make_detector
from stasn.errors import CheckpointError
from stasn.infer.detector import Detector
from stasn.infer.release import DEFAULT_RELEASE, load_release, save_release, score_drift, sha256_of
from stasn.model.checkpoint import load_checkpoint
from tiny import save_tiny_checkpoint


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    loaded = load_checkpoint(save_tiny_checkpoint(folder / "tiny.ckpt", threshold=0.42))
    card = save_release(loaded, folder / "tiny.json", training={"data": "none: a test"})
    return loaded, card


def _image(seed: int = 0, shape=(96, 128)) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = 120 + 60 * np.sin(xx / (7 + seed)) * np.cos(yy / 9)
    return np.clip(np.stack([base, base * 0.9, base * 0.8], -1), 0, 255).astype(np.uint8)


def test_release_round_trip_keeps_config_threshold_and_scores(release):
    loaded, card = release
    meta = json.loads(card.read_text())
    weights = card.with_suffix(".safetensors")
    assert meta["sha256"] == sha256_of(weights) and meta["dtype"] == "float16"
    assert meta["training"] == {"data": "none: a test"} and meta["model_config"]["pretrained"] is None
    back = load_release(card)
    assert back.threshold == pytest.approx(0.42) and back.config == loaded.config
    assert score_drift(loaded, card) < 1e-3  # float16 storage moves scores by less than 1e-3
    assert b"__reduce__" not in weights.read_bytes() and weights.read_bytes()[:8] != b"\x80\x02"  # no pickle


def test_changed_or_truncated_weights_are_refused(release, tmp_path):
    _, card = release
    for damage in ("flip", "truncate"):
        copy = tmp_path / damage
        copy.mkdir()
        (copy / card.name).write_text(card.read_text())
        data = bytearray(card.with_suffix(".safetensors").read_bytes())
        if damage == "flip":
            data[-10] ^= 0xFF
        else:
            data = data[: len(data) // 2]
        (copy / card.with_suffix(".safetensors").name).write_bytes(bytes(data))
        with pytest.raises(CheckpointError, match="SHA-256 does not match .* changed or truncated"):
            load_release(copy / card.name)


@pytest.mark.parametrize("threshold", [7.5, float("nan"), -0.1, "0.5", None])
def test_card_with_an_invalid_threshold_is_refused(release, tmp_path, threshold):
    _, card = release
    meta = json.loads(card.read_text())
    meta["threshold"] = threshold
    (tmp_path / card.name).write_text(json.dumps(meta))
    (tmp_path / card.with_suffix(".safetensors").name).write_bytes(card.with_suffix(".safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="threshold"):
        load_release(tmp_path / card.name)


def test_card_cannot_point_outside_its_folder(release, tmp_path):
    _, card = release
    meta = json.loads(card.read_text())
    meta["weights"] = "../elsewhere.safetensors"
    (tmp_path / card.name).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="beside the card"):
        load_release(tmp_path / card.name)


def test_detector_loads_a_release_and_scores(release):
    _, card = release
    det = Detector.from_checkpoint(card, device="cpu", detector="whole")
    pred = det.predict_image(_image())
    assert pred.status == "ok" and det.threshold == pytest.approx(0.42)


def test_bundled_yunet_is_the_default_detector():
    assert BUNDLED_YUNET.is_file() and (BUNDLED_YUNET.parent / "LICENSE-yunet").is_file()
    assert sha256_of(BUNDLED_YUNET) == "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
    assert make_detector("yunet").name == "yunet"


def test_given_face_box_equals_detection_with_that_box(release):
    _, card = release
    det = Detector.from_checkpoint(card, device="cpu", detector=GivenBox((20, 10, 100, 90)))
    image = _image(3)
    detected = det.predict_image(image)
    given = Detector.from_checkpoint(card, device="cpu", detector="whole").predict_image(
        image, face_box=(20, 10, 100, 90)
    )
    assert given.spoof_score == pytest.approx(detected.spoof_score, abs=1e-6)
    assert given.face_box == detected.face_box == (20.0, 10.0, 100.0, 90.0)
    outside = det.predict_image(image, face_box=(500, 500, 600, 600))
    assert outside.status == "unreadable" and "outside the 128x96 image" in outside.reason
    with pytest.raises(ValueError, match="x2 > x1"):
        det.predict_image(image, face_box=(50, 10, 40, 90))


@pytest.mark.shared
def test_boxes_file_equals_the_detectors_own_box(release, tmp_path):
    """``--boxes`` with YuNet's own box gives the score YuNet's detection gives, on a real NUAA frame."""
    _, card = release
    frame = sorted(shared_path("data", "nuaa-raw-train", "ClientRaw", "0001").glob("*.jpg"))[0]
    runner = CliRunner()
    detected = runner.invoke(app, ["predict", str(frame), "--checkpoint", str(card), "--json", "--device", "cpu"])
    assert detected.exit_code == 0, detected.output
    first = json.loads(detected.stdout.splitlines()[0])
    boxes = tmp_path / "boxes.jsonl"
    boxes.write_text(json.dumps({"input": str(frame), "box": first["face_box"]}) + "\n")
    given = runner.invoke(
        app, ["predict", str(frame), "--checkpoint", str(card), "--json", "--device", "cpu", "--boxes", str(boxes)]
    )
    assert given.exit_code == 0, given.output
    second = json.loads(given.stdout.splitlines()[0])
    assert second["spoof_score"] == pytest.approx(first["spoof_score"], abs=1e-6)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "a.jpg", "box": [1, 2]}\n')
    result = runner.invoke(app, ["predict", str(frame), "--checkpoint", str(card), "--boxes", str(bad)])
    assert result.exit_code != 0 and "bad.jsonl:1: expected" in result.output


@pytest.mark.shared
@pytest.mark.skipif(not DEFAULT_RELEASE.is_file(), reason="this checkout has no released model yet")
def test_released_model_answers_on_shared_faces():
    det = Detector.default(device="cpu")
    files = sorted(shared_path("data", "replay-crops-dev").glob("*/dataset/real/*.png"))[:2]
    files += sorted(shared_path("data", "replay-crops-dev").glob("*/dataset/fake/*.png"))[:2]
    for pred in det.predict_batch(files):
        assert pred.status in ("ok", "no_face") and (pred.spoof_score is None or 0 <= pred.spoof_score <= 1)
    assert det.describe()["face_detector"] == "yunet"
