"""stasn.data.video: seeking returns the frames full decoding returns; rotation; image sequences; bad files."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from stasn.data.video import ImageSequence, VideoFile, open_sample, open_video, read_image
from stasn.datasets.base import Sample
from stasn.errors import DataError
from stasn.testing.videos import numbered_frame, read_number, write_video

N = 40


@pytest.fixture(
    scope="module",
    params=[("mp4", "libx264"), ("mkv", "libx264"), ("avi", "mpeg4"), ("mp4", "libx265"), ("webm", "libvpx-vp9")],
)
def video(request, tmp_path_factory):
    ext, codec = request.param
    path = tmp_path_factory.mktemp("video") / f"numbers.{ext}"
    return write_video(path, (numbered_frame(i) for i in range(N)), codec=codec, gop=10)


def _all_frames(path):
    with open_video(path) as source:
        return [frame for _, frame in source.read(range(source.num_frames))]


def test_video_reads_every_frame_in_presentation_order(video):
    frames = _all_frames(video)
    assert len(frames) == N
    assert [read_number(f) for f in frames] == list(range(N))
    assert frames[0].dtype == np.uint8 and frames[0].shape == (96, 128, 3)


@pytest.mark.parametrize("indices", [[5], [N - 1], [0, 13, 14, 27, N - 1], [33, 2, 2, 20], [9, 10, 11, 21, 30]])
def test_video_seeking_matches_full_decoding(video, indices):
    full = _all_frames(video)
    with open_video(video) as source:
        got = list(source.read(indices))
    assert [i for i, _ in got] == sorted(set(indices))
    for index, frame in got:
        assert read_number(frame) == index
        np.testing.assert_array_equal(frame, full[index])


def test_video_reader_can_go_backwards_and_reuse(video):
    with open_video(video) as source:
        late = source.frame(35)
        early = source.frame(3)
        again = source.frame(35)
    assert (read_number(late), read_number(early)) == (35, 3)
    np.testing.assert_array_equal(late, again)


def test_video_reports_count_and_fps(video):
    with open_video(video) as source:
        assert isinstance(source, VideoFile)
        assert source.num_frames == N
        assert source.fps == pytest.approx(25)


def test_video_index_out_of_range(video):
    with open_video(video) as source, pytest.raises(IndexError, match="out of range"):
        list(source.read([N]))


@pytest.mark.parametrize("rotation, k", [(90, 1), (-90, -1), (180, 2)])
def test_video_display_rotation_is_honoured(tmp_path, rotation, k):
    frames = [numbered_frame(i) for i in range(6)]
    plain = _all_frames(write_video(tmp_path / "plain.mp4", frames))
    rotated = _all_frames(write_video(tmp_path / "rot.mp4", frames, rotation=rotation))
    # A counter-clockwise display rotation of `rotation` degrees is np.rot90 by rotation / 90.
    np.testing.assert_array_equal(rotated[3], np.rot90(plain[3], k))
    assert rotated[3].flags["C_CONTIGUOUS"]


def test_image_sequence_reads_like_a_video(tmp_path):
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"f{i}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(numbered_frame(i), cv2.COLOR_RGB2BGR))
    with open_video(paths[0], frame_paths=paths) as source:
        assert isinstance(source, ImageSequence) and source.num_frames == 5
        got = dict(source.read([4, 1]))
    assert sorted(got) == [1, 4]
    np.testing.assert_array_equal(got[4], numbered_frame(4))  # PNG is lossless: exact RGB


def test_still_image_is_a_one_frame_video(tmp_path):
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), cv2.cvtColor(numbered_frame(7), cv2.COLOR_RGB2BGR))
    sample = Sample(path=path, label=0, attack_type="live", split="train", video_id="face", dataset="t", is_image=True)
    with open_sample(sample) as source:
        assert source.num_frames == 1
        np.testing.assert_array_equal(source.frame(0), numbered_frame(7))


def test_open_sample_uses_frame_paths(tmp_path):
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    for i, p in enumerate(paths):
        cv2.imwrite(str(p), cv2.cvtColor(numbered_frame(i), cv2.COLOR_RGB2BGR))
    sample = Sample(
        path=paths[0], label=1, attack_type="print", split="dev", video_id="s", dataset="t", frame_paths=tuple(paths)
    )
    with open_sample(sample) as source:
        assert [read_number(f) for _, f in source.read([0, 1, 2])] == [0, 1, 2]


def test_jpeg_exif_orientation_is_honoured(tmp_path):
    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(numbered_frame(3)).save(path, exif=exif, quality=95)
    assert read_image(path).shape == (128, 96, 3)


def test_unreadable_video_raises_data_error_naming_it(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"this is not a video" * 100)
    with pytest.raises(DataError, match="broken.mp4"):
        open_video(path)


def test_unreadable_image_raises_data_error_naming_it(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DataError, match="broken.jpg"):
        open_video(path).frame(0)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        open_video(tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError, match="nope.png"):
        open_video(tmp_path / "nope.png")
