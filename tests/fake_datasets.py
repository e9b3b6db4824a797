"""Builders of exact-format fake dataset trees for tests: official folder and file names, protocol/list files written
by the datasets' own rules, few-byte placeholder videos (adapters do not decode) and real tiny JPEG/PNG images.

Every ``make_*`` function takes a folder, fills it and returns it. Reusable by any test:
``from fake_datasets import make_oulu_npu``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

__all__ = [
    "touch",
    "tiny_image",
    "make_oulu_npu",
    "oulu_in_protocol",
    "make_siw",
    "make_casia_fasd",
    "make_replay_attack",
    "make_replay_mobile",
    "make_msu_mfsd",
    "make_celeba_spoof",
    "make_nuaa",
    "make_generic_csv",
    "make_generic_tree",
    "MSU_TRAIN_SUBJECTS",
    "MSU_TEST_SUBJECTS",
    "REPLAY_MOBILE_CLIENTS",
]

PLACEHOLDER = b"\x00fake"


def touch(path: Path, data: bytes = PLACEHOLDER) -> Path:
    """Write a few-byte placeholder file (creating folders)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def tiny_image(path: Path, size: tuple[int, int] = (8, 6), value: int = 128) -> Path:
    """A real, decodable image (JPEG or PNG by suffix) of ``size`` = (width, height) pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, value // 2, 255 - value)).save(path)
    return path


# ---------------------------------------------------------------------------------------------------------- OULU-NPU
OULU_USERS = {"Train": range(1, 21), "Dev": range(21, 36), "Test": range(36, 56)}
_OULU_LABEL = {1: "+1", 2: "-1", 3: "-1", 4: "-2", 5: "-2"}


def oulu_in_protocol(protocol: int, fold: int | None, split: str, phone: int, session: int, file: int) -> bool:
    """The official OULU-NPU protocol rules (Boulkenafet et al., FG 2017), used to WRITE the fake protocol files."""
    train_like = split in ("Train", "Dev")
    if protocol == 1:  # unseen illumination/session
        return session in (1, 2) if train_like else session == 3
    if protocol == 2:  # unseen PAI (printer 2, display 2)
        return file in (1, 2, 4) if train_like else file in (1, 3, 5)
    if protocol == 3:  # leave one phone out
        return phone != fold if train_like else phone == fold
    if train_like:  # protocol 4: all of the above
        return phone != fold and session in (1, 2) and file in (1, 2, 4)
    return phone == fold and session == 3 and file in (1, 3, 5)


def make_oulu_npu(root: Path, *, eye_users: Iterable[int] = (1,)) -> Path:
    """Full-size OULU-NPU name set (4950 ``.avi`` placeholders) and all protocol files; eye ``.txt`` files for
    ``eye_users`` (3 frames each: frame 0 real eyes, frame 1 all zeros = not found, frame 2 real eyes)."""
    eye_users = set(eye_users)
    names: dict[str, list[tuple[int, int, int, int]]] = {}
    for split, users in OULU_USERS.items():
        folder = root / f"{split}_files"
        folder.mkdir(parents=True, exist_ok=True)
        names[split] = []
        for phone in range(1, 7):
            for session in range(1, 4):
                for user in users:
                    for file in range(1, 6):
                        stem = f"{phone}_{session}_{user:02d}_{file}"
                        (folder / f"{stem}.avi").write_bytes(PLACEHOLDER)
                        names[split].append((phone, session, user, file))
                        if user in eye_users:
                            (folder / f"{stem}.txt").write_text(
                                "0, 100, 200, 150, 201\n1, 0, 0, 0, 0\n2,101,202,151,203\n"
                            )
    for protocol in (1, 2, 3, 4):
        folds = [None] if protocol in (1, 2) else list(range(1, 7))
        for fold in folds:
            for split, entries in names.items():
                lines = [
                    f"{_OULU_LABEL[f]},{p}_{s}_{u:02d}_{f}"
                    for p, s, u, f in entries
                    if oulu_in_protocol(protocol, fold, split, p, s, f)
                ]
                name = f"{split}.txt" if fold is None else f"{split}_{fold}.txt"
                path = root / "Protocols" / f"Protocol_{protocol}" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(lines) + "\n")
    return root


# --------------------------------------------------------------------------------------------------------------- SiW
def make_siw(root: Path, train: Iterable[str] = ("003", "006", "007"), test: Iterable[str] = ("004", "005")) -> Path:
    """Per subject 8 videos: live ``-1-1-1-1`` and ``-2-1-1-2``; print media 1-2; replay media 1-4 (sensor 1,
    session 1). The first live video of each subject gets a ``.face`` file (3 frames, the middle one all zeros)."""
    for folder, subjects in (("Train", train), ("Test", test)):
        for subject in subjects:
            live = [f"{subject}-1-1-1-1", f"{subject}-2-1-1-2"]
            spoof = [f"{subject}-1-2-{m}-1" for m in (1, 2)] + [f"{subject}-1-3-{m}-1" for m in (1, 2, 3, 4)]
            for kind, stems in (("live", live), ("spoof", spoof)):
                for stem in stems:
                    touch(root / folder / kind / subject / f"{stem}.mov")
            (root / folder / "live" / subject / f"{live[0]}.face").write_text("10 20 110 140\n0 0 0 0\n12 22 112 142\n")
    return root


# ------------------------------------------------------------------------------------------------------- CASIA-FASD
CASIA_STEMS = [str(i) for i in range(1, 9)] + [f"HR_{i}" for i in range(1, 5)]


def make_casia_fasd(root: Path, n_train: int = 20, n_test: int = 30) -> Path:
    """Full CASIA-FASD name set by default: 12 ``.avi`` placeholders per subject folder."""
    for folder, n in (("train_release", n_train), ("test_release", n_test)):
        for subject in range(1, n + 1):
            for stem in CASIA_STEMS:
                touch(root / folder / str(subject) / f"{stem}.avi")
    return root


# ---------------------------------------------------------------------------------------------------- Replay-Attack
REPLAY_ATTACK_CLIENTS = {"train": range(1, 16), "devel": range(16, 31), "test": range(31, 51)}
_REPLAY_ATTACKS = [
    ("print", "highdef", "photo"),
    ("highdef", "highdef", "photo"),
    ("highdef", "highdef", "video"),
    ("mobile", "mobile", "photo"),
    ("mobile", "mobile", "video"),
]


def make_replay_attack(root: Path) -> Path:
    """Full Replay-Attack name set (15/15/20 clients; 4 real + 20 attack videos each = 1200 videos), an ``enroll/``
    folder that must be ignored, and ``face-locations`` for client 1's first real video."""
    for split, clients in REPLAY_ATTACK_CLIENTS.items():
        for c in clients:
            for light in ("controlled", "adverse"):
                for take in (1, 2):
                    touch(root / split / "real" / f"client{c:03d}_session01_webcam_authenticate_{light}_{take}.mov")
                for support in ("fixed", "hand"):
                    for instrument, sample, medium in _REPLAY_ATTACKS:
                        name = f"attack_{instrument}_client{c:03d}_session01_{sample}_{medium}_{light}.mov"
                        touch(root / split / "attack" / support / name)
            touch(root / "enroll" / split / f"client{c:03d}_session01_webcam_enroll_controlled.mov")
    face = root / "face-locations" / "train" / "real" / "client001_session01_webcam_authenticate_controlled_1.face"
    face.parent.mkdir(parents=True, exist_ok=True)
    face.write_text("0 10 20 100 120\n1 0 0 0 0\n2 11 21 100 120\n")
    return root


# ---------------------------------------------------------------------------------------------------- Replay-Mobile
REPLAY_MOBILE_CLIENTS = {  # bob.db.replaymobile test13_queryRealAccesses
    "train": ("001", "003", "008", "011", "012", "016", "018", "020", "026", "034", "037", "038"),
    "devel": tuple(f"{c:03d}" for c in (5, 6, 13, 14, 15, 23, 24, 25, 28, 29, 31, 32, 35, 36, 39, 40)),
    "test": ("002", "004", "007", "009", "010", "017", "019", "021", "022", "027", "030", "033"),
}
_RM_REAL_LIGHTS = ("controlled", "adverse", "direct", "lateral", "diffuse")


def make_replay_mobile(root: Path) -> Path:
    """Full Replay-Mobile name set: per client 10 real (2 devices x 5 lights) and 16 attacks (print: 2 supports x
    2 devices x 2 lights; mattescreen: fixed x 2 devices x photo/video x 2 lights); client 009 has no real videos,
    as in the released database (390 real, 640 attacks). One ``faceloc/rect`` file for train client 001."""
    for split, clients in REPLAY_MOBILE_CLIENTS.items():
        for c in clients:
            for device in ("mobile", "tablet"):
                if c != "009":
                    for light in _RM_REAL_LIGHTS:
                        touch(root / split / "real" / f"client{c}_session01_authenticate_{device}_{light}.mov")
                for light in ("lighton", "lightoff"):
                    for support in ("fixed", "hand"):
                        name = f"attack_client{c}_session01_print_{support}_{device}_photo_{light}.mov"
                        touch(root / split / "attack" / name)
                    for medium in ("photo", "video"):
                        name = f"attack_client{c}_session01_mattescreen_fixed_{device}_{medium}_{light}.mov"
                        touch(root / split / "attack" / name)
            touch(root / "enroll" / split / "real" / f"client{c}_session01_enroll_mobile_lighton.mov")
    face = root / "faceloc" / "rect" / "train" / "real" / "client001_session01_authenticate_mobile_controlled.face"
    face.parent.mkdir(parents=True, exist_ok=True)
    face.write_text("0 5 6 50 60\n1 7 8 50 60\n")
    return root


# --------------------------------------------------------------------------------------------------------- MSU-MFSD
MSU_TRAIN_SUBJECTS = (2, 3, 5, 6, 7, 8, 9, 11, 12, 21, 22, 34, 53, 54, 55)
MSU_TEST_SUBJECTS = (1, 13, 14, 23, 24, 26, 28, 29, 30, 32, 33, 35, 36, 37, 39, 42, 48, 49, 50, 51)


def make_msu_mfsd(root: Path) -> Path:
    """Full MSU-MFSD name set (35 clients x (2 real + 6 attacks)), the two subject lists (two-digit ids, as
    released) and a ``.face`` file (``frame, x1, y1, x2, y2``) for client 002's android real video."""
    for c in MSU_TRAIN_SUBJECTS + MSU_TEST_SUBJECTS:
        for device, ext in (("android", "mp4"), ("laptop", "mov")):
            touch(root / "scene01" / "real" / f"real_client{c:03d}_{device}_SD_scene01.{ext}")
            for instrument in ("ipad_video", "iphone_video", "printed_photo"):
                touch(root / "scene01" / "attack" / f"attack_client{c:03d}_{device}_SD_{instrument}_scene01.{ext}")
    (root / "train_sub_list.txt").write_text("\n".join(f"{c:02d}" for c in MSU_TRAIN_SUBJECTS))
    (root / "test_sub_list.txt").write_text("\n".join(f"{c:02d}" for c in MSU_TEST_SUBJECTS))
    (root / "scene01" / "real" / "real_client002_android_SD_scene01.face").write_text(
        "0, 10, 20, 110, 140\n1, 0, 0, 0, 0\n"
    )
    return root


# ----------------------------------------------------------------------------------------------------- CelebA-Spoof
CELEBA_SUBJECTS = {"train": ("10001", "10002", "10003"), "test": ("20001", "20002")}


def _celeba_labels(spoof_type: int) -> list[int]:
    values = [0] * 44
    values[40], values[41], values[42], values[43] = spoof_type, 1, 2, int(spoof_type != 0)
    return values


def make_celeba_spoof(root: Path) -> Path:
    """Per subject 2 live ``.jpg`` (spoof type 0) and 2 spoof ``.png`` (types 1 and 8), real 20 x 16 images, a
    ``_BB.txt`` per image (``x y w h score`` in the 224 x 224 frame) and
    ``metas/intra_test/{train,test}_label.json``."""
    for split, subjects in CELEBA_SUBJECTS.items():
        labels = {}
        for i, subject in enumerate(subjects):
            for kind, ext, types in (("live", "jpg", (0, 0)), ("spoof", "png", (1, 8))):
                for j, spoof_type in enumerate(types):
                    key = f"Data/{split}/{subject}/{kind}/{500000 + 10 * i + j}.{ext}"
                    tiny_image(root / key, size=(20, 16))
                    (root / key).with_name(f"{Path(key).stem}_BB.txt").write_text("56 28 112 168 0.99\n")
                    labels[key] = _celeba_labels(spoof_type)
        path = root / "metas" / "intra_test" / f"{split}_label.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(labels))
    return root


# ------------------------------------------------------------------------------------------------------------- NUAA
NUAA_CAPTURES = {  # (folder, subject, glasses, pos, session) -> picture numbers; session 03 is the test session
    ("ClientRaw", "0001", "00", "00", "01"): (0, 12, 5),
    ("ClientRaw", "0001", "00", "00", "02"): (3, 7),
    ("ClientRaw", "0002", "01", "00", "01"): (1, 2),
    ("ClientRaw", "0003", "01", "00", "01"): (10,),
    ("ClientRaw", "0004", "00", "00", "01"): (4, 9),
    ("ClientRaw", "0001", "00", "00", "03"): (20, 21),
    ("ImposterRaw", "0001", "00", "01", "02"): (0, 100, 11),
    ("ImposterRaw", "0002", "01", "00", "01"): (6,),
    ("ImposterRaw", "0003", "01", "02", "02"): (8, 9),
    ("ImposterRaw", "0004", "00", "00", "01"): (1,),
    ("ImposterRaw", "0002", "01", "00", "03"): (30, 31, 32),
}


def make_nuaa(root: Path, *, with_test: bool = True) -> Path:
    """A small NUAA tree with real tiny JPEGs and the four list files (CRLF; test lists use ``\\`` as the
    original lists do). Train: 10 live + 7 attack frames over subjects 0001-0004; test (session 03): 2 + 3."""
    lists: dict[str, list[str]] = {}
    for (folder, subject, glasses, pos, session), pics in NUAA_CAPTURES.items():
        split = "test" if session == "03" else "train"
        name = f"{'client' if folder == 'ClientRaw' else 'imposter'}_{split}_raw.txt"
        sep = "\\" if split == "test" else "/"
        for pic in pics:
            file_name = f"{subject}_{glasses}_{pos}_{session}_{pic}.jpg"
            tiny_image(root / folder / subject / file_name)
            lists.setdefault(name, []).append(f"{subject}{sep}{file_name}")
    for name, lines in lists.items():
        if with_test or "_train_" in name:
            (root / name).write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return root


# ---------------------------------------------------------------------------------------------------------- generic
def make_generic_csv(root: Path) -> Path:
    """``samples.csv`` form: 2 videos, 1 image, 1 frame folder; labels as words and numbers; one boxes file."""
    touch(root / "videos" / "alice_live.mp4")
    touch(root / "videos" / "alice_phone.mov")
    tiny_image(root / "images" / "bob_print.jpg")
    for i in (10, 2, 1):
        tiny_image(root / "frames" / "carol_live" / f"frame{i}.png")
    (root / "boxes").mkdir()
    (root / "boxes" / "alice_live.txt").write_text("0 10 20 110 140\n5 12 22 112 142\n")
    (root / "samples.csv").write_text(
        "path,label,split,attack_type,subject,boxes\n"
        "videos/alice_live.mp4,live,train,,alice,boxes/alice_live.txt\n"
        "videos/alice_phone.mov,1,train,replay,alice,\n"
        "images/bob_print.jpg,spoof,devel,print,bob,\n"
        "frames/carol_live,0,test,,carol,\n"
    )
    return root


def make_generic_tree(root: Path) -> Path:
    """Folder form: ``{train,dev,test}/{live,spoof}/**`` with a typed ``spoof/print/`` sub-folder and stray files."""
    touch(root / "train" / "live" / "a.mp4")
    touch(root / "train" / "live" / "nested" / "b.avi")
    touch(root / "train" / "spoof" / "print" / "c.mov")
    touch(root / "train" / "spoof" / "d.mp4")
    tiny_image(root / "dev" / "live" / "e.jpg")
    touch(root / "test" / "spoof" / "replay" / "f.mp4")
    touch(root / "test" / "spoof" / "notes.txt", b"not media")
    return root
