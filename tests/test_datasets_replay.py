"""Replay-Attack and Replay-Mobile adapters on full fake name sets."""

from __future__ import annotations

from collections import Counter

import pytest

from fake_datasets import REPLAY_MOBILE_CLIENTS, make_replay_attack, make_replay_mobile, touch
from stasn.datasets import ReplayAttack, ReplayMobile, open_dataset
from stasn.errors import DataError


@pytest.fixture(scope="module")
def replay_root(tmp_path_factory):
    return make_replay_attack(tmp_path_factory.mktemp("replay"))


@pytest.fixture(scope="module")
def mobile_root(tmp_path_factory):
    return make_replay_mobile(tmp_path_factory.mktemp("replay-mobile"))


def _real_attack(ds, split):
    c = Counter(s.label for s in ds if s.split == split)
    return c[0], c[1]


def test_replay_attack_grandtest_sizes(replay_root):
    ds = ReplayAttack(replay_root)
    assert [_real_attack(ds, sp) for sp in ("train", "dev", "test")] == [(60, 300), (60, 300), (80, 400)]
    assert len({s.video_id for s in ds}) == 1200


@pytest.mark.parametrize(
    ("protocol", "attacks_per_train_split", "types"),
    [
        ("print", 60, {"print"}),
        ("mobile", 120, {"replay"}),
        ("highdef", 120, {"replay"}),
        ("photo", 180, {"print", "replay"}),
        ("video", 120, {"replay"}),
        ("digitalphoto", 120, {"replay"}),
    ],
)
def test_replay_attack_protocols(replay_root, protocol, attacks_per_train_split, types):
    ds = ReplayAttack(replay_root, protocol=protocol, split="train")
    assert _real_attack(ds, "train") == (60, attacks_per_train_split)  # every protocol keeps all real videos
    assert {s.attack_type for s in ds if s.label == 1} == types
    if protocol == "video":
        assert {s.meta["medium"] for s in ds if s.label == 1} == {"video"}


def test_replay_attack_sample_fields_and_annotations(replay_root):
    ds = open_dataset("replay-attack", replay_root, split="train")
    real = ds[0]
    assert real.video_id == "train/real/client001_session01_webcam_authenticate_adverse_1"
    assert (real.subject, real.session, real.device, real.split) == ("001", "01", "webcam", "train")
    attack = next(s for s in ds if s.meta.get("support") == "hand" and s.meta["instrument"] == "print")
    assert attack.attack_type == "print" and attack.video_id.startswith("train/attack/hand/attack_print_client")
    controlled = next(s for s in ds if s.video_id.endswith("client001_session01_webcam_authenticate_controlled_1"))
    assert ds.annotations(controlled).boxes == {0: (10, 20, 110, 140), 2: (11, 21, 111, 141)}  # frame 1: no face
    assert ds.annotations(attack) is None
    assert {s.split for s in ReplayAttack(replay_root, split="dev")} == {"dev"}  # devel/ is read as dev


def test_replay_attack_errors(replay_root, tmp_path):
    with pytest.raises(ValueError, match=r"Unknown protocol 'smalltest' for Replay-Attack\. Valid values are"):
        ReplayAttack(replay_root, protocol="smalltest")
    with pytest.raises(ValueError, match=r"Unknown split 'devel' for Replay-Attack"):
        ReplayAttack(replay_root, split="devel")
    with pytest.raises(FileNotFoundError, match="train: missing; is .* the Replay-Attack root"):
        ReplayAttack(tmp_path)
    touch(tmp_path / "train" / "real" / "client001_session01_webcam_authenticate_adverse.mov")
    (tmp_path / "train" / "attack").mkdir()
    with pytest.raises(DataError, match=r"authenticate_adverse\.mov: expected 'client<id>_session<n>_webcam"):
        ReplayAttack(tmp_path, split="train")


def test_replay_mobile_sizes(mobile_root):
    ds = ReplayMobile(mobile_root)
    assert [_real_attack(ds, sp) for sp in ("train", "dev", "test")] == [(120, 192), (160, 256), (110, 192)]
    for protocol in ("print", "mattescreen"):
        sub = ReplayMobile(mobile_root, protocol=protocol)
        assert [_real_attack(sub, sp) for sp in ("train", "dev", "test")] == [(120, 96), (160, 128), (110, 96)]
    assert {s.attack_type for s in ReplayMobile(mobile_root, protocol="mattescreen") if s.label} == {"replay"}


def test_replay_mobile_clients_and_fields(mobile_root):
    ds = ReplayMobile(mobile_root)
    for split, folder in (("train", "train"), ("dev", "devel"), ("test", "test")):
        assert {s.subject for s in ds if s.split == split} == set(REPLAY_MOBILE_CLIENTS[folder])
    attack = next(s for s in ds if s.label == 1)
    assert set(attack.meta) == {"instrument", "support", "medium", "light", "capture_device"}
    assert attack.device in ("mobile", "tablet")
    real = next(s for s in ds if s.video_id == "train/real/client001_session01_authenticate_mobile_controlled")
    assert ds.annotations(real).boxes == {0: (5, 6, 55, 66), 1: (7, 8, 57, 68)}


def test_replay_mobile_errors(mobile_root, tmp_path):
    with pytest.raises(ValueError, match=r"Unknown protocol 'replay' for Replay-Mobile\. Valid values are"):
        ReplayMobile(mobile_root, protocol="replay")
    (tmp_path / "train" / "real").mkdir(parents=True)
    touch(tmp_path / "train" / "attack" / "attack_client001_session01_print_mobile_photo_lighton.mov")
    with pytest.raises(DataError, match=r"lighton\.mov: expected 'attack_client<id>_session<n>_<print\|mattescreen>"):
        ReplayMobile(tmp_path, split="train")
