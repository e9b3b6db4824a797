"""The peer model, MiniFASNet V2 + V1SE (Silent-Face's released models, ONNX in ``../shared/models/minifasnet``).

For side-by-side scoring in benchmarks only (latency, accuracy on the same items): never a teacher, a labeller or
a feature source. Its conventions (``../shared/models/minifasnet/SOURCES.md``), which are not ours:

* a face box ``(x1, y1, x2, y2)`` from any detector (we give it the same YuNet box stasn uses);
* each model's crop: the box enlarged about its centre by 2.7 (V2) or 4.0 (V1SE), the scale reduced if the enlarged
  box would not fit the image, then shifted inside (Silent-Face's ``CropImage._get_new_box``, reimplemented from that
  description);
* 80x80, **BGR**, float32 in 0-255 (no normalisation); output ``[N, 3]`` logits, class 1 = real;
* the two models' softmax probabilities are averaged; ``spoof_score = 1 - P(real)`` (higher = attack, as stasn).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PEER_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "minifasnet"
PEER_MODELS = (("MiniFASNetV2.onnx", 2.7), ("MiniFASNetV1SE.onnx", 4.0))
PEER_SIZE = 80


def peer_crop_box(width: int, height: int, box: tuple[float, float, float, float], scale: float) -> tuple[int, ...]:
    """Silent-Face's enlarged box for an image of ``width x height``: ``(x1, y1, x2, y2)`` inclusive pixel corners."""
    x, y = box[0], box[1]
    box_w, box_h = max(1.0, box[2] - box[0]), max(1.0, box[3] - box[1])
    scale = min((height - 1) / box_h, (width - 1) / box_w, scale)
    new_w, new_h = box_w * scale, box_h * scale
    cx, cy = x + box_w / 2, y + box_h / 2
    x1, y1, x2, y2 = cx - new_w / 2, cy - new_h / 2, cx + new_w / 2, cy + new_h / 2
    if x1 < 0:
        x2, x1 = x2 - x1, 0
    if y1 < 0:
        y2, y1 = y2 - y1, 0
    if x2 > width - 1:
        x1, x2 = x1 - (x2 - width + 1), width - 1
    if y2 > height - 1:
        y1, y2 = y1 - (y2 - height + 1), height - 1
    return int(x1), int(y1), int(x2), int(y2)


def peer_input(image_rgb: np.ndarray, box: tuple[float, float, float, float], scale: float) -> np.ndarray:
    """``float32[3, 80, 80]`` BGR 0-255 crop of ``image_rgb`` (``uint8[H, W, 3]``) for one peer model."""
    h, w = image_rgb.shape[:2]
    x1, y1, x2, y2 = peer_crop_box(w, h, box, scale)
    crop = image_rgb[y1 : y2 + 1, x1 : x2 + 1, ::-1]
    crop = cv2.resize(np.ascontiguousarray(crop), (PEER_SIZE, PEER_SIZE))
    return crop.transpose(2, 0, 1).astype(np.float32)


class Peer:
    """Both MiniFASNet models in ONNX Runtime; ``spoof_scores(images, boxes)`` -> ``float[N]``."""

    def __init__(self, folder: Path = PEER_DIR, threads: int = 2) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.sessions = [
            (ort.InferenceSession(str(folder / name), sess_options=options, providers=["CPUExecutionProvider"]), scale)
            for name, scale in PEER_MODELS
        ]

    @staticmethod
    def available(folder: Path = PEER_DIR) -> bool:
        return all((folder / name).is_file() for name, _ in PEER_MODELS)

    def run_inputs(self, inputs: list[np.ndarray]) -> np.ndarray:
        """Model only: ``inputs[m]`` is ``float32[N, 3, 80, 80]`` for model ``m``; returns spoof scores ``[N]``."""
        p_real = np.zeros(len(inputs[0]), dtype=np.float64)
        for (session, _), x in zip(self.sessions, inputs, strict=True):
            name = session.get_inputs()[0].name
            logits = np.concatenate([session.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))])
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            p_real += (e / e.sum(axis=1, keepdims=True))[:, 1]
        return 1.0 - p_real / len(self.sessions)

    def inputs(self, images: list[np.ndarray], boxes: list[tuple[float, float, float, float]]) -> list[np.ndarray]:
        return [
            np.stack([peer_input(im, b, scale) for im, b in zip(images, boxes, strict=True)])
            for _, scale in self.sessions
        ]

    def spoof_scores(self, images: list[np.ndarray], boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
        """Spoof scores (higher = attack) of faces at ``boxes`` (x1, y1, x2, y2) in RGB ``images``."""
        return self.run_inputs(self.inputs(images, boxes))
