"""stasn.data.sampling: frame-sampling policies on frame counts a human can check."""

from __future__ import annotations

import pytest

from stasn.data.sampling import (
    FrameSampler,
    clip_indices,
    clip_positions,
    clip_starts,
    even_indices,
    stride_indices,
    usable_frames,
)


@pytest.mark.parametrize(
    "num_frames, count, expected",
    [(10, 5, [1, 3, 5, 7, 9]), (10, 1, [5]), (9, 3, [1, 4, 7]), (4, 8, [0, 1, 2, 3]), (0, 3, [])],
)
def test_even_indices_toydata(num_frames, count, expected):
    assert even_indices(num_frames, count) == expected


def test_stride_indices_toydata():
    assert stride_indices(10, 3) == [0, 3, 6, 9]
    assert stride_indices(10, 3, start=1, count=2) == [1, 4]
    assert stride_indices(2, 5) == [0]


def test_clip_positions_toydata():
    assert clip_positions(10, 4, 2) == [2, 3, 4, 5]
    assert clip_positions(10, 3, 0, stride=3) == [0, 3, 6]
    assert clip_positions(3, 5, 0) == [0, 0, 1, 2, 2]  # short video stretched in order
    with pytest.raises(ValueError, match="outside"):
        clip_positions(10, 4, 7)


def test_clip_starts_toydata():
    assert clip_starts(10, 5, 1) == [2]  # one clip is centred: last start 5, 5 // 2 = 2
    assert clip_starts(10, 5, 2) == [0, 5]
    assert clip_starts(10, 5, 3) == [0, 2, 5]  # round(2.5) = 2 (half to even, as numpy)
    assert clip_starts(10, 3, 2, stride=3) == [0, 3]  # a clip spans 7 frames
    assert clip_starts(3, 5, 2) == [0]  # too short: one clip, stretched by clip_positions
    assert clip_starts(5, 5, 3) == [0]  # equal starts merged
    assert clip_starts(0, 5, 2) == []
    with pytest.raises(ValueError, match=">= 1"):
        clip_starts(10, 5, 0)


def test_clip_indices_are_clip_starts_in_frames():
    for num_frames, clip_len, clips, stride in [(20, 3, 2, 2), (20, 4, 1, 1), (11, 2, 3, 3), (7, 7, 2, 1)]:
        starts = clip_starts(num_frames, clip_len, clips, stride)
        assert [run[0] for run in clip_indices(num_frames, clip_len, clips, stride)] == starts


def test_clip_indices_spreads_clips():
    assert clip_indices(20, 3, num_clips=2, stride=2) == [[0, 2, 4], [15, 17, 19]]
    assert clip_indices(20, 4) == [[8, 9, 10, 11]]  # one clip is centred
    assert clip_indices(3, 5) == [[0, 1, 2]]  # too short: one shorter clip
    assert clip_indices(5, 5, num_clips=3) == [[0, 1, 2, 3, 4]]  # identical clips merged


def test_first_frames_limits_every_policy():
    assert usable_frames(300, 60) == 60
    assert usable_frames(30, 60) == 30
    assert FrameSampler().indices(300, first_frames=4) == [0, 1, 2, 3]
    assert max(FrameSampler(count=10).indices(300, first_frames=60)) < 60


@pytest.mark.parametrize(
    "sampler, expected",
    [
        (FrameSampler(), list(range(12))),
        (FrameSampler(count=3), [2, 6, 10]),
        (FrameSampler(stride=4), [0, 4, 8]),
        (FrameSampler(count=3, stride=2), [3, 5, 7]),
        (FrameSampler(count=4, stride=1, clips=2), [0, 1, 10, 11]),
    ],
)
def test_frame_sampler_policies(sampler, expected):
    assert sampler.indices(12) == expected


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"count": 0}, "count must be >= 1"),
        ({"stride": 0}, "stride must be >= 1"),
        ({"count": 4, "clips": 2}, "needs both count and stride"),
        ({"count": 5, "stride": 1, "clips": 2}, "not a multiple"),
    ],
)
def test_frame_sampler_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FrameSampler(**kwargs)


def test_frame_sampler_describe_distinguishes_policies():
    texts = {FrameSampler().describe(), FrameSampler(count=8).describe(), FrameSampler(count=8, stride=2).describe()}
    assert len(texts) == 3
