"""stasn export: one ONNX graph, dynamic batch, parity with PyTorch (random and real inputs), usable as a backend.

One export of a tiny ResNet-18 STASN (about 10-20 s on 2 busy cores) is shared by the module's tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from conftest import shared_path
from stasn.cli.main import app
from stasn.data.crop import resize_square
from stasn.data.manifest import CacheInfo
from stasn.infer import export as export_module
from stasn.infer.backends import OnnxBackend, TorchBackend
from stasn.infer.detector import Detector
from stasn.infer.export import PARITY_TOLERANCE, ParityReport, check_parity, compare_outputs, read_onnx_metadata
from stasn.infer.inputs import load_image
from stasn.model import STASN, STASNConfig
from stasn.model.checkpoint import load_checkpoint, save_checkpoint
from tiny import TINY_MODEL, save_tiny_checkpoint


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("export")
    ckpt = save_tiny_checkpoint(folder / "tiny.ckpt", threshold=0.35, threshold_criterion="bpcer20")
    result = CliRunner().invoke(
        app, ["export", "--checkpoint", str(ckpt), "--format", "onnx", "--out", str(folder / "tiny.onnx")]
    )
    assert result.exit_code == 0, result.output
    assert "1 graph" in result.output and "parity with PyTorch" in result.output
    return ckpt, folder / "tiny.onnx"


@pytest.mark.slow
def test_export_writes_one_graph_with_dynamic_batch_and_metadata(exported):
    ckpt, path = exported
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["frames", "highres", "frame_index"]
    assert [o.name for o in model.graph.output] == ["spoof_score", "tasm_score", "sasm_score", "boxes"]
    for graph_input in model.graph.input:  # symbolic: any number of frames and clips
        first = graph_input.type.tensor_type.shape.dim[0]
        assert first.dim_param and not first.dim_value
    assert {n.op_type for n in model.graph.node} >= {"RoiAlign", "LSTM", "ArgMax"}  # RAM and SASM in the graph
    meta = read_onnx_metadata(path)
    assert meta["threshold"] == 0.35 and meta["model_config"]["backbone"] == "resnet18"
    assert meta["cache_info"]["highres_size"] == 128
    assert not list(path.parent.glob(".*.tmp*"))  # atomic: no temp file left behind


@pytest.mark.slow
def test_onnx_matches_torch_on_random_inputs(exported):
    ckpt, path = exported
    report = check_parity(load_checkpoint(ckpt), path, batches=(1, 2, 5))
    assert report.ok, report.describe()
    assert report.max_rel_error <= PARITY_TOLERANCE and report.box_mismatch == 0.0


@pytest.mark.slow
def test_onnx_matches_torch_on_real_face_crops(exported):
    ckpt, path = exported
    root = shared_path("data", "replay-crops-dev")
    files = sorted(root.glob("*/dataset/real/*.png"))[:3] + sorted(root.glob("*/dataset/fake/*.png"))[:3]
    faces = [load_image(f) for f in files]
    crop = lambda side: np.stack([np.stack([resize_square(_square(f), side)] * 2) for f in faces])  # noqa: E731
    clips = crop(64).transpose(0, 1, 4, 2, 3).astype(np.float32) / 255  # (6, T, 3, 64, 64)
    highres = crop(128).transpose(0, 1, 4, 2, 3).astype(np.float32) / 255
    loaded = load_checkpoint(ckpt)
    ours = OnnxBackend(path).score_clips(clips, highres)
    theirs = TorchBackend(loaded.model, device="cpu").score_clips(clips, highres)
    rel, _, mismatch = compare_outputs(ours, theirs)
    assert rel <= PARITY_TOLERANCE and mismatch == 0.0, (rel, mismatch)
    assert np.ptp(theirs.spoof_score) > 0  # the inputs really differ for this model


def _square(image: np.ndarray) -> np.ndarray:
    side = min(image.shape[:2])
    return np.ascontiguousarray(image[:side, :side])


@pytest.mark.slow
def test_onnx_backend_gives_the_same_predictions(exported):
    ckpt, path = exported
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 255, (90, 120, 3), dtype=np.uint8) for _ in range(3)]
    with_torch = Detector.from_checkpoint(ckpt, device="cpu", detector="whole").predict_batch(images)
    with_onnx = Detector.from_checkpoint(path, backend="onnx", device="cpu", detector="whole")
    assert with_onnx.threshold == 0.35 and with_onnx.threshold_source == "checkpoint (bpcer20)"
    for a, b in zip(with_torch, with_onnx.predict_batch(images), strict=True):
        assert b.spoof_score == pytest.approx(a.spoof_score, rel=PARITY_TOLERANCE) and a.regions == b.regions


def test_failed_parity_writes_nothing(tmp_path, monkeypatch):
    config = STASNConfig(**TINY_MODEL)
    ckpt = save_checkpoint(tmp_path / "m.ckpt", STASN.from_config(config), config, CacheInfo(64, 128))
    monkeypatch.setattr(export_module, "onnx_bytes", lambda loaded, **kw: b"graph")
    monkeypatch.setattr(export_module, "check_parity", lambda *a, **kw: ParityReport(0.5, 3.0, 0.25, (1,)))
    with pytest.raises(ValueError, match="not written, ONNX Runtime disagrees"):
        export_module.export_onnx(ckpt, tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.ckpt"]


def test_export_cli_errors_are_one_line(tmp_path):
    config = STASNConfig(**TINY_MODEL)
    ckpt = save_checkpoint(tmp_path / "m.ckpt", STASN.from_config(config), config, CacheInfo(64, 128))
    result = CliRunner().invoke(app, ["export", "--checkpoint", str(ckpt), "--opset", "12"])
    assert result.exit_code == 1 and "opset 12 is too low" in result.output
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not torch")
    result = CliRunner().invoke(app, ["export", "--checkpoint", str(broken)])
    assert result.exit_code == 1 and "cannot read checkpoint" in result.output
    with pytest.raises(ValueError, match="no stasn metadata|not a readable ONNX"):
        read_onnx_metadata(ckpt)


@pytest.mark.slow
def test_lite_backbone_exports_with_parity_and_predicts_through_onnx(tmp_path):
    """EfficientNet-Lite (timm, TensorFlow 'same' padding) through the same export, parity check and ONNX predictor."""
    ckpt = save_tiny_checkpoint(tmp_path / "lite.ckpt", backbone="efficientnet_lite0", pretrained="imagenet")
    report = export_module.export_onnx(ckpt, tmp_path / "lite.onnx")
    assert report.parity is not None and report.parity.ok, report.parity
    rng = np.random.default_rng(5)
    images = [rng.integers(0, 255, (90, 120, 3), dtype=np.uint8) for _ in range(2)]
    with_torch = Detector.from_checkpoint(ckpt, device="cpu", detector="whole").predict_batch(images)
    with_onnx = Detector.from_checkpoint(report.path, backend="onnx", device="cpu", detector="whole")
    for a, b in zip(with_torch, with_onnx.predict_batch(images), strict=True):
        assert a.spoof_score == pytest.approx(b.spoof_score, abs=1e-4)
