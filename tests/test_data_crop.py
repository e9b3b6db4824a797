"""stasn.data.crop: region geometry, padding at the frame border, output sizes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stasn.data.crop import crop_face, crop_square, face_from_highres, resize_square, square_region
from stasn.data.manifest import CacheInfo


def test_square_region_enlarges_the_longer_side_about_the_centre():
    assert square_region((10, 20, 30, 60), 1.0) == (0, 20, 40, 60)  # 20x40 box -> 40x40 square
    assert square_region((100, 100, 200, 200), 1.3) == (85, 85, 215, 215)
    x1, y1, x2, y2 = square_region((0.4, 0.4, 10.7, 20.3), 1.5)
    assert x2 - x1 == y2 - y1 == 30


@pytest.mark.parametrize("box, scale", [((5, 5, 5, 9), 1.3), ((0, 0, 10, 10), 0.0)])
def test_square_region_bad_input(box, scale):
    with pytest.raises(ValueError):
        square_region(box, scale)


def _ramp(height=20, width=30):
    frame = np.zeros((height, width, 3), np.uint8)
    frame[..., 0] = np.arange(width, dtype=np.uint8)[None, :]
    frame[..., 1] = np.arange(height, dtype=np.uint8)[:, None]
    frame[..., 2] = 200
    return frame


def test_crop_square_inside_the_frame_is_a_plain_slice():
    frame = _ramp()
    np.testing.assert_array_equal(crop_square(frame, (5, 2, 15, 12)), frame[2:12, 5:15])


def test_crop_square_edge_padding_repeats_border_pixels():
    frame = _ramp()
    crop = crop_square(frame, (-4, -3, 6, 7), pad="edge")
    assert crop.shape == (10, 10, 3)
    np.testing.assert_array_equal(crop[3:, 4:], frame[0:7, 0:6])
    assert (crop[:3, 4:, 1] == 0).all() and (crop[3:, :4, 0] == 0).all()  # first row/column repeated
    assert (crop[:3, :4] == frame[0, 0]).all()


def test_crop_square_zero_padding_fills_black():
    frame = _ramp()
    crop = crop_square(frame, (25, 15, 35, 25), pad="zero")
    np.testing.assert_array_equal(crop[:5, :5], frame[15:20, 25:30])
    assert (crop[5:] == 0).all() and (crop[:, 5:] == 0).all()


def test_crop_square_outside_the_frame_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        crop_square(_ramp(), (40, 40, 50, 50))
    with pytest.raises(ValueError, match="Unknown pad"):
        crop_square(_ramp(), (0, 0, 5, 5), pad="mirror")


def test_crop_face_sizes_and_region():
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    info = CacheInfo(face_size=64, highres_size=128, crop_scale=1.3)
    crop = crop_face(frame, (600, 400, 700, 500), info)  # face partly off the frame: padded
    assert crop.face.shape == (64, 64, 3) and crop.highres.shape == (128, 128, 3)
    assert crop.face.dtype == crop.highres.dtype == np.uint8
    assert crop.region == (585, 385, 715, 515)


def test_face_crop_is_derived_from_the_highres_crop():
    frame = np.random.default_rng(1).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    crop = crop_face(frame, (50, 50, 250, 250), CacheInfo(face_size=32, highres_size=64, crop_scale=1.0))
    np.testing.assert_array_equal(crop.face, face_from_highres(crop.highres, 32))
    expected = cv2.resize(frame[50:250, 50:250], (64, 64), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(crop.highres, expected)


def test_resize_square_upscales_small_faces():
    assert resize_square(np.zeros((10, 10, 3), np.uint8), 40).shape == (40, 40, 3)
