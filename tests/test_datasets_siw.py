"""SiW adapter: protocol rules encoded from the SiW paper, on a small exact-format fake tree."""

from __future__ import annotations

from collections import Counter

import pytest

from fake_datasets import make_siw, touch
from stasn.datasets import SiW
from stasn.errors import DataError


@pytest.fixture(scope="module")
def siw_root(tmp_path_factory):
    return make_siw(tmp_path_factory.mktemp("siw"))  # 3 train + 2 test subjects, 8 videos each


def _count(ds):
    return Counter((s.split, s.attack_type) for s in ds)


def test_siw_protocol_1_first_60_frames_for_training(siw_root):
    ds = SiW(siw_root, protocol="1", dev_fraction=0)
    assert _count(ds) == {
        ("train", "live"): 6,
        ("train", "print"): 6,
        ("train", "replay"): 12,
        ("test", "live"): 4,
        ("test", "print"): 4,
        ("test", "replay"): 8,
    }
    assert {s.first_frames for s in ds if s.split == "train"} == {60}
    assert {s.first_frames for s in ds if s.split == "test"} == {None}


@pytest.mark.parametrize("fold", [1, 2, 3, 4])
def test_siw_protocol_2_leaves_one_replay_medium_out(siw_root, fold):
    ds = SiW(siw_root, protocol="2", fold=fold, dev_fraction=0)
    assert "print" not in {s.attack_type for s in ds}
    replay = {split: {s.meta["medium"] for s in ds if s.split == split and s.label == 1} for split in ("train", "test")}
    assert replay == {"train": {1, 2, 3, 4} - {fold}, "test": {fold}}
    assert _count(ds) == {("train", "live"): 6, ("train", "replay"): 9, ("test", "live"): 4, ("test", "replay"): 2}


def test_siw_protocol_3_cross_pai(siw_root):
    one = _count(SiW(siw_root, protocol="3", fold=1, dev_fraction=0))
    assert one == {("train", "live"): 6, ("train", "print"): 6, ("test", "live"): 4, ("test", "replay"): 8}
    two = _count(SiW(siw_root, protocol="3", fold=2, dev_fraction=0))
    assert two == {("train", "live"): 6, ("train", "replay"): 12, ("test", "live"): 4, ("test", "print"): 4}


def test_siw_sample_fields_and_dev_split(siw_root):
    ds = SiW(siw_root, protocol="1")
    s = next(x for x in ds if x.video_id == "Test/spoof/004/004-1-3-2-1")
    assert (s.subject, s.session, s.device, s.meta) == ("004", "1", "sensor1", {"sensor": 1, "medium": 2})
    dev = {x.subject for x in ds if x.split == "dev"}
    assert dev == {"006"} and dev.isdisjoint({x.subject for x in ds if x.split == "train"})
    assert {x.first_frames for x in ds if x.split == "dev"} == {60}  # dev comes from protocol-1 training videos


def test_siw_face_annotations(siw_root):
    ds = SiW(siw_root, protocol="1", split="test")
    live = next(s for s in ds if s.video_id == "Test/live/004/004-1-1-1-1")
    assert ds.annotations(live).boxes == {0: (10, 20, 110, 140), 2: (12, 22, 112, 142)}
    assert ds.annotations(next(s for s in ds if s.attack_type == "print")) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol": "4"}, r"Unknown protocol '4' for SiW\. Valid values are \{1, 2, 3\}\."),
        ({"protocol": "2"}, r"SiW protocol 2 needs a fold: one of \{1, 2, 3, 4\}"),
        ({"protocol": "3", "fold": 3}, r"Unknown fold '3' for SiW\. Valid values are \{1, 2\}\."),
        ({"protocol": "1", "fold": 1}, r"SiW protocol 1 has no folds"),
        ({"dev_fraction": 1.0}, r"dev_fraction must be >= 0 and < 1"),
    ],
)
def test_siw_bad_arguments(siw_root, kwargs, message):
    with pytest.raises(ValueError, match=message):
        SiW(siw_root, **kwargs)


def test_siw_missing_folders_and_bad_names(tmp_path):
    with pytest.raises(FileNotFoundError, match="Train: missing; is .* the SiW root"):
        SiW(tmp_path)
    root = make_siw(tmp_path / "siw", train=("003",), test=("004",))
    (root / "Test" / "spoof").rename(root / "Test" / "attack")
    with pytest.raises(FileNotFoundError, match=r"Test/spoof: missing"):
        SiW(root)
    root = make_siw(tmp_path / "siw2", train=("003",), test=("004",))
    touch(root / "Train" / "live" / "003" / "003-1-2-1-1.mov")  # a print video in the live folder
    with pytest.raises(DataError, match=r"003-1-2-1-1\.mov: type 2 / subject 003 do not match its folder live/003"):
        SiW(root)
    (root / "Train" / "live" / "003" / "003-1-2-1-1.mov").unlink()
    touch(root / "Train" / "live" / "003" / "003_1_1_1_1.mov")
    with pytest.raises(DataError, match=r"003_1_1_1_1\.mov: expected '<subject>-<sensor>-<type>-<medium>-<session>"):
        SiW(root)
