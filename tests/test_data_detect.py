"""stasn.data.detect: the detector interface, spec parsing, largest-face and dataset-annotation rules."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_path
from stasn.data.detect import (
    Detection,
    FaceDetector,
    HaarDetector,
    eyes_to_box,
    find_face,
    largest_face,
    make_detector,
)
from stasn.data.video import read_image
from stasn.datasets.base import FaceAnnotations


class FixedDetector(FaceDetector):
    """Returns fixed boxes in the pixels of the image it is given; records what it saw."""

    name = "fixed"

    def __init__(self, boxes, **kwargs):
        super().__init__(**kwargs)
        self.boxes, self.seen = boxes, []

    def _detect_bgr(self, bgr):
        self.seen.append(bgr)
        return [Detection(b, float(i)) for i, b in enumerate(self.boxes)]


def test_detect_scales_boxes_back_and_gives_bgr():
    detector = FixedDetector([(10.0, 20.0, 30.0, 40.0)], max_side=100)
    frame = np.zeros((200, 400, 3), np.uint8)
    frame[..., 0] = 255  # red in RGB
    (found,) = detector.detect(frame)
    assert detector.seen[0].shape == (50, 100, 3)  # longest side shrunk to max_side
    assert detector.seen[0][0, 0].tolist() == [0, 0, 255]  # OpenCV detectors get BGR
    assert found.box == pytest.approx((40.0, 80.0, 120.0, 160.0))


def test_detect_rejects_non_rgb_frames():
    with pytest.raises(ValueError, match="uint8"):
        FixedDetector([]).detect(np.zeros((8, 8), np.uint8))


def test_largest_face_wins():
    small = Detection((0, 0, 10, 10), 0.99)
    big = Detection((0, 0, 50, 40), 0.9)
    assert largest_face([small, big]) is big
    assert largest_face([]) is None


def test_largest_face_ignores_doubtful_detections():
    face = Detection((180, 140, 300, 300), 0.94)
    hand = Detection((330, 180, 470, 340), 0.64)  # NUAA: a hand holding the photo, larger than the face
    assert largest_face([face, hand]) is face
    assert largest_face([face, hand], min_relative_score=0) is hand


def test_eyes_to_box_is_square_below_the_eyes():
    x1, y1, x2, y2 = eyes_to_box((100, 100, 140, 100))  # eye distance 40
    assert (x2 - x1, y2 - y1) == pytest.approx((88, 88))
    assert ((x1 + x2) / 2, (y1 + y2) / 2) == pytest.approx((120, 120))
    with pytest.raises(ValueError, match="coincide"):
        eyes_to_box((5, 5, 5, 5))


def test_find_face_prefers_dataset_boxes_then_eyes_then_detector():
    frame = np.zeros((64, 64, 3), np.uint8)
    detector = FixedDetector([(1.0, 1.0, 9.0, 9.0), (0.0, 0.0, 30.0, 30.0)])
    notes = FaceAnnotations(boxes={0: (5, 5, 25, 25)}, eyes={1: (20, 20, 40, 20)})
    found, source = find_face(frame, 0, detector, notes)
    assert (found.box, source) == ((5.0, 5.0, 25.0, 25.0), "dataset")
    found, source = find_face(frame, 1, detector, notes)
    assert source == "dataset" and found.box == pytest.approx(eyes_to_box((20, 20, 40, 20)))
    assert not detector.seen
    found, source = find_face(frame, 2, detector, notes)
    assert (found.box, source) == ((0.0, 0.0, 30.0, 30.0), "fixed")  # the larger of the two
    assert find_face(frame, 2, None, notes) == (None, "dataset")


def test_make_detector_haar_needs_no_file():
    detector = make_detector("haar")
    assert isinstance(detector, HaarDetector) and detector.name == "haar"
    assert detector.detect(np.zeros((120, 160, 3), np.uint8)) == []


@pytest.mark.parametrize(
    "spec, error, message",
    [
        ("mtcnn", ValueError, "Unknown detector 'mtcnn'. Valid forms"),
        ("yunet:/a.onnx,/b.onnx", ValueError, "wrong number of paths"),
        ("ssd:/only/one.pb", ValueError, "wrong number of paths"),
        ("yunet:/no/such/model.onnx", FileNotFoundError, "/no/such/model.onnx"),
        ("haar:/no/such/cascade.xml", FileNotFoundError, "cascade.xml"),
    ],
)
def test_make_detector_bad_spec(spec, error, message):
    with pytest.raises(error, match=message):
        make_detector(spec)


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.shared
def test_real_detectors_agree_on_a_nuaa_face():
    image = read_image(shared_path("data", "nuaa-raw-train", "ClientRaw", "0001", "0001_00_00_01_0.jpg"))
    models = shared_path("models")
    specs = [
        "haar",
        f"yunet:{models / 'yunet' / 'face_detection_yunet_2026may.onnx'}",
        f"ssd:{models / 'opencv-face-detector' / 'opencv_face_detector_uint8.pb'},"
        f"{models / 'opencv-face-detector' / 'opencv_face_detector.pbtxt'}",
    ]
    boxes = {}
    for spec in specs:
        detector = make_detector(spec)
        face = largest_face(detector.detect(image))
        assert face is not None, f"{detector.name} found no face"
        boxes[detector.name] = face.box
        if detector.name == "yunet":
            assert face.landmarks.shape == (5, 2) and 0 < face.score <= 1
    assert _iou(boxes["yunet"], boxes["ssd"]) > 0.5
    assert _iou(boxes["yunet"], boxes["haar"]) > 0.4


def test_whole_detector_spec_boxes_the_whole_frame():
    from stasn.data.detect import make_detector

    detector = make_detector("whole")
    frame = np.zeros((30, 20, 3), np.uint8)
    (found,) = detector.detect(frame)
    assert found.box == (0.0, 0.0, 20.0, 30.0) and detector.name == "whole"
    with pytest.raises(ValueError, match="wrong number of paths"):
        make_detector("whole:/x.onnx")
