"""CelebA-Spoof adapter on a small fake tree with real tiny images and official-format label JSON."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from fake_datasets import make_celeba_spoof
from stasn.datasets import CelebASpoof
from stasn.errors import DataError


@pytest.fixture
def celeba_root(tmp_path):
    return make_celeba_spoof(tmp_path / "celeba")


def test_celeba_samples(celeba_root):
    ds = CelebASpoof(celeba_root, dev_fraction=0)
    assert Counter((s.split, s.attack_type) for s in ds) == {
        ("train", "live"): 6,
        ("train", "print"): 3,
        ("train", "replay"): 3,
        ("test", "live"): 4,
        ("test", "print"): 2,
        ("test", "replay"): 2,
    }
    assert all(s.is_image and s.path.is_file() for s in ds)
    s = next(x for x in ds if x.meta["spoof_type"] == 8)
    assert (s.label, s.subject, s.meta["spoof_type_name"], s.meta["illumination"]) == (1, s.path.parts[-3], "pad", 1)
    assert s.video_id == s.path.relative_to(celeba_root).with_suffix("").as_posix()


def test_celeba_box_scaled_from_224_frame(celeba_root):
    ds = CelebASpoof(celeba_root, split="test")
    ann = ds.annotations(ds[0])  # image 20 x 16, box 56 28 112 168 in the 224 x 224 frame
    assert ann.boxes == {0: pytest.approx((5.0, 2.0, 15.0, 14.0))}
    ds[0].path.with_name(f"{ds[0].path.stem}_BB.txt").unlink()
    assert ds.annotations(ds[0]) is None


def test_celeba_dev_split(celeba_root):
    ds = CelebASpoof(celeba_root)
    assert {s.subject for s in ds if s.split == "dev"} == {"10002"}
    assert {s.subject for s in ds if s.split == "train"} == {"10001", "10003"}


def test_celeba_bad_labels_name_the_entry(celeba_root):
    path = celeba_root / "metas" / "intra_test" / "train_label.json"
    labels = json.loads(path.read_text())
    key = next(k for k in labels if "/spoof/" in k)
    labels[key][43] = 0  # a spoof type with a live label
    path.write_text(json.dumps(labels))
    with pytest.raises(
        DataError, match=r"train_label\.json: entry .*spoof type 1 \(photo\), label 0 and folder disagree"
    ):
        CelebASpoof(celeba_root)
    labels[key] = [0] * 10
    path.write_text(json.dumps(labels))
    with pytest.raises(DataError, match=r"expected a list of 44 labels"):
        CelebASpoof(celeba_root)
    path.write_text('{"Data/train/1/live/1.jpg": [0,\n')
    with pytest.raises(DataError, match=r"train_label\.json:2: not valid JSON"):
        CelebASpoof(celeba_root)


def test_celeba_missing_files(celeba_root):
    with pytest.raises(ValueError, match=r"Unknown protocol 'protocol1' for CelebA-Spoof"):
        CelebASpoof(celeba_root, protocol="protocol1")
    (celeba_root / "metas" / "intra_test" / "test_label.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"test_label\.json: protocol/list file not found"):
        CelebASpoof(celeba_root)
    (celeba_root / "Data").rename(celeba_root / "data")
    with pytest.raises(FileNotFoundError, match="Data: missing; is .* the CelebA-Spoof root"):
        CelebASpoof(celeba_root)
