"""stasn.Detector: images, videos, streams, batches, reasons, thresholds and box mapping (tiny random model)."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

import stasn
from conftest import shared_path
from stasn.data.crop import crop_face
from stasn.data.detect import Detection, FaceDetector
from stasn.data.manifest import CacheInfo
from stasn.infer.backends import BackendOutput
from stasn.infer.detector import DEFAULT_THRESHOLD, Detector
from stasn.infer.faces import to_input_pixels
from stasn.infer.result import STATUS_FACE_TOO_SMALL, STATUS_NO_FACE, STATUS_OK, STATUS_UNREADABLE
from stasn.model import STASN, STASNConfig
from stasn.model.checkpoint import save_checkpoint
from tiny import TINY_MODEL, save_tiny_checkpoint


class BoxDetector(FaceDetector):
    """Finds one face at ``box`` in frames whose mean brightness is above ``min_mean`` (so tests can hide faces)."""

    name = "box"

    def __init__(self, box=(40.0, 30.0, 120.0, 110.0), min_mean: float = -1.0) -> None:
        super().__init__(max_side=None)
        self.box, self.min_mean = box, min_mean

    def detect(self, frame):
        return [Detection(self.box, 0.9)] if frame.mean() > self.min_mean else []


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.ckpt", threshold=0.4)
    return path


@pytest.fixture(scope="module")
def detector(checkpoint) -> Detector:
    return Detector.from_checkpoint(checkpoint, device="cpu", detector=BoxDetector())


def _image(seed: int = 0, size=(160, 200)) -> np.ndarray:
    return np.random.default_rng(seed).integers(30, 255, (*size, 3), dtype=np.uint8)


def _write_video(path: Path, frames: np.ndarray, fps: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_detector_is_exposed_lazily():
    assert stasn.Detector is Detector


def test_predict_image_returns_score_boxes_and_decision(detector):
    pred = detector.predict_image(_image(), name="face")
    assert pred.status == STATUS_OK and pred.reason is None
    assert 0.0 <= pred.spoof_score <= 1.0
    assert pred.threshold == pytest.approx(0.4)  # the checkpoint's dev threshold
    assert pred.is_attack == (pred.spoof_score >= 0.4)
    assert pred.face_box == (40.0, 30.0, 120.0, 110.0)
    assert len(pred.regions) == TINY_MODEL["num_regions"] and len(pred.clips) == 1
    x1, y1, x2, y2 = pred.clips[0].frames[0].crop_box  # face box 80 px enlarged by 1.3 -> 104 px square
    assert (x2 - x1, y2 - y1) == (104, 104)
    for rx1, ry1, rx2, ry2 in pred.regions:  # 32 of 128 high-res px = 26 input px, inside the crop
        assert rx2 - rx1 == pytest.approx(26.0) and x1 <= rx1 < rx2 <= x2 and y1 <= ry1 < ry2 <= y2
    row = pred.to_dict()
    json.dumps(row)
    assert row["label"] in ("spoof", "live") and row["image_size"] == [200, 160]


def test_region_boxes_map_to_input_pixels():
    # crop region from x=100, y=50, 200 px wide, model crop 400 px: scale 0.5
    assert to_input_pixels(np.array([40.0, 80.0, 120.0, 160.0]), (100, 50, 300, 250), 0.5) == (
        120.0,
        90.0,
        160.0,
        130.0,
    )


def test_still_image_is_one_frame_repeated_t_times(checkpoint):
    seen = {}

    class Spy:
        name = "spy"

        def __call__(self, frames, highres, frame_index):
            seen["frames"], seen["highres"], seen["index"] = frames, highres, frame_index
            b, t = frame_index.shape
            return BackendOutput(
                np.full(b, 0.7, np.float32),
                np.zeros(b, np.float32),
                np.zeros(b, np.float32),
                np.tile(np.array([0, 0, 32, 32], np.float32), (b, t, 2, 1)),
            )

    det = Detector(
        Spy(),
        config=STASNConfig(**TINY_MODEL),
        cache_info=CacheInfo(64, 128),
        threshold=0.5,
        face_detector=BoxDetector(),
    )
    pred = det.predict_image(_image())
    # the model gets the image once and an index that repeats it T=2 times: the CNNs run once, the LSTM twice
    assert seen["frames"].shape == (1, 3, 64, 64) and seen["highres"].shape == (1, 3, 128, 128)
    assert seen["frames"].dtype == np.float32 and 0.0 <= seen["frames"].min() and seen["frames"].max() <= 1.0
    assert seen["index"].tolist() == [[0, 0]] and seen["index"].dtype == np.int64
    assert pred.spoof_score == pytest.approx(0.7) and pred.is_attack


@pytest.mark.parametrize("roundtrip", [False, True])
def test_crops_are_the_training_crops(roundtrip):
    seen = {}

    def spy(frames, highres, frame_index):
        seen["highres"] = highres
        b, t = frame_index.shape
        z = np.zeros(b, np.float32)
        return BackendOutput(z, z, z, np.tile(np.array([0, 0, 32, 32], np.float32), (b, t, 2, 1)))

    spy.name = "spy"
    det = Detector(
        spy,
        config=STASNConfig(**TINY_MODEL),
        cache_info=CacheInfo(64, 128, jpeg_quality=50),
        threshold=0.5,
        face_detector=BoxDetector(),
        jpeg_roundtrip=roundtrip,
    )
    image = _image()
    det.predict_image(image)
    raw = crop_face(image, BoxDetector().box, CacheInfo(64, 128)).highres.transpose(2, 0, 1) / 255.0
    differs = np.abs(seen["highres"][0] - raw).mean()
    assert (differs > 0.01) if roundtrip else (differs < 1e-6)  # JPEG at quality 50 visibly changes noise


def test_threshold_override_changes_only_the_decision(detector):
    base = detector.predict_image(_image())
    low = detector.predict_image(_image(), threshold=0.0)
    high = detector.predict_image(_image(), threshold=1.0)
    assert low.spoof_score == pytest.approx(base.spoof_score) == pytest.approx(high.spoof_score)
    assert low.is_attack is True and (high.is_attack is False or high.spoof_score == 1.0)
    assert base.with_threshold(0.0).is_attack is True


def test_no_face_and_small_face_give_reasons_not_scores(checkpoint):
    none = Detector.from_checkpoint(checkpoint, device="cpu", detector=BoxDetector(min_mean=300))
    pred = none.predict_image(_image())
    assert pred.status == STATUS_NO_FACE and pred.spoof_score is None and pred.is_attack is None
    assert "no face" in pred.reason
    small = Detector.from_checkpoint(checkpoint, device="cpu", detector=BoxDetector(box=(5, 5, 20, 20)))
    pred = small.predict_image(_image())
    assert pred.status == STATUS_FACE_TOO_SMALL and "15 px" in pred.reason and pred.label is None


def test_unreadable_and_missing_files_are_reported(detector, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    pred = detector.predict_image(bad)
    assert pred.status == STATUS_UNREADABLE and str(bad) in pred.reason and pred.spoof_score is None
    missing = detector.predict_image(tmp_path / "gone.png")
    assert missing.status == STATUS_UNREADABLE and "gone.png" in missing.reason
    with pytest.raises(ValueError, match=r"np.ndarray\[H, W, 3\] uint8"):
        detector.predict_image(np.zeros((10, 10), np.float32))


def test_predict_batch_matches_single_predictions(detector, tmp_path):
    images = [_image(i) for i in range(3)]
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG nope")
    batch = detector.predict_batch([*images, bad])
    singles = [detector.predict_image(im) for im in images]
    for b, s in zip(batch[:3], singles, strict=True):
        assert b.spoof_score == pytest.approx(s.spoof_score, abs=1e-5) and b.regions == s.regions
    assert batch[3].status == STATUS_UNREADABLE


def test_predict_video_scores_several_clips_and_skips_faceless_frames(detector, tmp_path):
    frames = np.stack([_image(i, (96, 128)) for i in range(12)])
    frames[5:8] = 5  # dark frames: BoxDetector finds no face there
    det = Detector(
        detector.backend,
        config=detector.config,
        cache_info=detector.cache_info,
        threshold=0.4,
        face_detector=BoxDetector(box=(20, 10, 100, 90), min_mean=20),
        clips_per_video=4,
    )
    pred = det.predict_video(frames, name="clip")
    assert pred.status == STATUS_OK and pred.kind == "video" and len(pred.clips) >= 3
    assert pred.spoof_score == pytest.approx(np.mean([c.spoof_score for c in pred.clips]))
    used = {f.index for c in pred.clips for f in c.frames}
    assert used and not used & {5, 6, 7} and max(used) < 12
    # the same frames from a file
    assert pred.frames_read == 10  # video_frames=10 sampled evenly from 12
    path = _write_video(tmp_path / "clip.mp4", frames)
    from_file = det.predict_video(path)
    assert from_file.status == STATUS_OK and from_file.frames_read == pred.frames_read
    assert from_file.image_size == (128, 96)
    every = Detector(
        detector.backend,
        config=detector.config,
        cache_info=detector.cache_info,
        threshold=0.4,
        face_detector=BoxDetector(box=(20, 10, 100, 90), min_mean=20),
        video_frames=None,
        clips_per_video=50,
    ).predict_video(frames)
    assert every.frames_read == 12 and len(every.clips) == 8  # 9 usable frames, T=2: starts 0..7


def test_overlapping_clips_run_each_frame_once(detector):
    frames = np.stack([_image(i, (96, 128)) for i in range(12)])
    seen = []

    def spy(frames, highres, frame_index):
        seen.append((frames, highres, frame_index.copy()))
        return detector.backend(frames, highres, frame_index)

    spy.name = "spy"
    options = dict(config=detector.config, cache_info=detector.cache_info, threshold=0.4, face_detector=BoxDetector())
    pred = Detector(spy, **options, video_frames=None, clips_per_video=50).predict_video(frames)
    ((distinct, highres, index),) = seen
    assert len(pred.clips) == 11 and len(distinct) == 12  # 11 clips of T=2 overlap: 22 steps, 12 distinct frames
    assert index.tolist() == [[i, i + 1] for i in range(11)]
    # the naive path: every step its own copy of the frame
    flat = index.flatten()
    naive = detector.backend(distinct[flat], highres[flat], np.arange(flat.size).reshape(index.shape))
    assert [c.spoof_score for c in pred.clips] == pytest.approx(naive.spoof_score.tolist(), abs=1e-5)


def test_predict_video_truncated_file_is_unreadable(detector, tmp_path):
    path = _write_video(tmp_path / "full.mp4", np.stack([_image(i, (64, 64)) for i in range(10)]))
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    pred = detector.predict_video(cut)
    assert pred.status == STATUS_UNREADABLE and "cut.mp4" in pred.reason


def test_predict_stream_yields_one_prediction_per_group(detector):
    frames = (_image(i, (96, 128)) for i in range(7))
    preds = list(detector.predict_stream(frames, name="webcam:0"))
    assert len(preds) == 3  # 7 frames, T=2: three complete groups
    assert all(p.kind == "stream" and p.status == STATUS_OK for p in preds)
    assert [f.index for f in preds[1].clips[0].frames] == [2, 3]


def test_missing_threshold_falls_back_to_default(tmp_path, caplog):
    config = STASNConfig(**TINY_MODEL)
    path = save_checkpoint(tmp_path / "t.ckpt", STASN.from_config(config), config, CacheInfo(64, 128))
    det = Detector.from_checkpoint(path, device="cpu", detector="whole")
    assert det.threshold == DEFAULT_THRESHOLD and det.threshold_source == "default"
    assert "no dev-set threshold" in caplog.text


def test_bad_backend_and_onnx_suffix_are_refused(checkpoint, tmp_path):
    with pytest.raises(ValueError, match="Unknown backend 'tf'"):
        Detector.from_checkpoint(checkpoint, backend="tf")
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"x")
    with pytest.raises(ValueError, match="backend='onnx'"):
        Detector.from_checkpoint(onnx_file, backend="torch")


@pytest.mark.shared
def test_real_face_found_with_yunet(checkpoint):
    yunet = shared_path("models", "yunet", "face_detection_yunet_2026may.onnx")
    image = sorted(shared_path("data", "nuaa-raw-train", "ClientRaw", "0001").glob("*.jpg"))[0]
    det = Detector.from_checkpoint(checkpoint, device="cpu", detector=f"yunet:{yunet}")
    pred = det.predict_image(image)
    assert pred.status == STATUS_OK and pred.image_size == (640, 480)
    x1, y1, x2, y2 = pred.face_box
    assert 100 < x2 - x1 < 400 and 0 <= x1 and x2 <= 640  # a webcam face, not the whole frame
