"""CASIA-FASD adapter on the full fake name set (600 placeholder videos)."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from fake_datasets import make_casia_fasd
from stasn.datasets import CasiaFASD

# (train, test) videos per scenario: overall 12 per subject; a quality 4 (live + 3 attacks); an attack 6 (3 live + 3)
SIZES = {"overall": (240, 360), "low": (80, 120), "normal": (80, 120), "high": (80, 120)}
SIZES.update({"warped": (120, 180), "cut": (120, 180), "video": (120, 180)})


@pytest.fixture(scope="module")
def casia_root(tmp_path_factory):
    return make_casia_fasd(tmp_path_factory.mktemp("casia"))


@pytest.mark.parametrize("protocol", list(SIZES))
def test_casia_protocol_sizes(casia_root, protocol):
    counts = Counter(s.split for s in CasiaFASD(casia_root, protocol=protocol, dev_fraction=0))
    assert (counts["train"], counts["test"]) == SIZES[protocol]


def test_casia_attack_types_and_quality(casia_root):
    ds = CasiaFASD(casia_root, dev_fraction=0, split="train")
    assert Counter(s.attack_type for s in ds) == {"live": 60, "print": 60, "paper-cut": 60, "replay": 60}
    by_stem = {s.path.stem: (s.attack_type, s.meta["quality"]) for s in ds if s.subject == "train_release/1"}
    assert (
        by_stem["1"] == ("live", "low") and by_stem["2"] == ("live", "normal") and by_stem["HR_1"] == ("live", "high")
    )
    assert by_stem["3"] == ("print", "low") and by_stem["HR_3"] == ("paper-cut", "high")
    assert by_stem["8"] == ("replay", "normal")


def test_casia_attack_scenario_keeps_all_live(casia_root):
    ds = CasiaFASD(casia_root, protocol="cut", dev_fraction=0, split="test")
    assert Counter(s.attack_type for s in ds) == {"live": 90, "paper-cut": 90}
    assert {s.meta["quality"] for s in CasiaFASD(casia_root, protocol="high", dev_fraction=0)} == {"high"}


def test_casia_subjects_and_dev_split(casia_root):
    ds = CasiaFASD(casia_root)
    subjects = {split: {s.subject for s in ds if s.split == split} for split in ("train", "dev", "test")}
    assert len(subjects["dev"]) == 4 and len(subjects["train"]) == 16 and len(subjects["test"]) == 30
    assert not subjects["dev"] & subjects["train"] and not subjects["test"] & (subjects["train"] | subjects["dev"])
    assert len({s.video_id for s in ds}) == 600


def test_casia_errors(casia_root, tmp_path, caplog):
    with pytest.raises(ValueError, match=r"Unknown protocol 'print' for CASIA-FASD\. Valid values are \{overall, low"):
        CasiaFASD(casia_root, protocol="print")
    root = make_casia_fasd(tmp_path / "c", n_train=2, n_test=2)
    (root / "test_release").rename(root / "test")
    with pytest.raises(FileNotFoundError, match="test_release: missing; is .* the CASIA-FASD root"):
        CasiaFASD(root)
    assert len(CasiaFASD(root, split="train", dev_fraction=0)) == 24  # the train folder alone is enough
    (root / "train_release" / "2" / "HR_4.avi").unlink()
    with caplog.at_level(logging.WARNING):
        assert len(CasiaFASD(root, split="train", dev_fraction=0)) == 23
    assert "1 expected CASIA-FASD videos are missing" in caplog.text
