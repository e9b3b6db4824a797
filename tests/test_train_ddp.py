"""A missing cache is prepared once, by one process, inside ``trainer.fit`` (the DataModule's ``prepare_data``).

Under torchrun or SLURM every process runs ``train_experiment``; only one may write the cache (``stasn prepare`` and a
second writer would corrupt it). The DDP test starts two CPU processes with ``torchrun`` (gloo), as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

import stasn.data.prepare
from stasn.data.datamodule import CacheDataModule
from stasn.data.manifest import MANIFEST_NAME, CacheInfo, read_manifest
from stasn.errors import DataError
from tiny import TINY_MODEL

INFO = CacheInfo(face_size=TINY_MODEL["input_size"], highres_size=TINY_MODEL["highres_size"])
PREPARE = {"dataset": "generic", "detector": "whole", "frames_per_video": 1, "workers": 1}


def _generic_tree(root: Path, per_class: int = 3) -> Path:
    """A ``{train,dev,test}/{live,spoof}`` folder of small images ("whole": each image is the face)."""
    rng = np.random.default_rng(0)
    for split in ("train", "dev", "test"):
        for label in ("live", "spoof"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(per_class):
                image = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
                image = cv2.resize(image, (96, 96), interpolation=cv2.INTER_CUBIC)
                if label == "spoof":  # a fine stripe pattern, as tiny.py's attacks carry
                    image[:, ::3] //= 2
                cv2.imwrite(str(folder / f"{i}.png"), image)
    return root


def test_datamodule_prepares_a_missing_cache_once_and_checks_its_geometry(tmp_path, monkeypatch):
    calls = []
    real = stasn.data.prepare.prepare_dataset
    monkeypatch.setattr(stasn.data.prepare, "prepare_dataset", lambda **kw: calls.append(kw) or real(**kw))
    prepare = {**PREPARE, "root": _generic_tree(tmp_path / "data")}
    module = CacheDataModule(tmp_path / "cache", num_frames=2, num_workers=0, prepare=prepare, cache_info=INFO)
    assert module.prepare_data_per_node is False  # one process of the whole job, not one per node

    module.prepare_data()
    module.prepare_data()  # the cache is there now: nothing to do
    assert len(calls) == 1 and calls[0]["cache_info"] == INFO
    assert len(read_manifest(tmp_path / "cache")) == 18
    module.setup("fit")
    assert len(module.train_set) == 6 and len(module.val_set) == 6

    other = CacheDataModule(tmp_path / "cache", num_frames=2, cache_info=CacheInfo(64, 128, crop_scale=2.0))
    with pytest.raises(DataError, match="crops were made with"):
        other.setup("fit")


_RANK = """
import os, sys
from pathlib import Path

import stasn.data.prepare
from stasn.train.config import load_experiment
from stasn.train.run import train_experiment

config, log = sys.argv[1], Path(sys.argv[2])
real = stasn.data.prepare.prepare_dataset


def counted(**kwargs):
    with log.open("a") as handle:
        handle.write(f"prepare {os.environ['RANK']}\\n")
    return real(**kwargs)


stasn.data.prepare.prepare_dataset = counted
result = train_experiment(load_experiment(config), evaluate_test=False, enable_progress_bar=False)
with log.open("a") as handle:
    handle.write(f"trained {os.environ['RANK']} {result.best_checkpoint.is_file()}\\n")
"""


@pytest.mark.slow  # two processes that import torch and Lightning, then train: about 10 s
def test_ddp_two_processes_prepare_the_cache_once_and_train(tmp_path):
    cache = tmp_path / "cache"
    config = {
        "name": "ddp",
        "output_dir": str(tmp_path / "runs"),
        "model": TINY_MODEL,
        "data": {
            "cache": str(cache),
            "batch_size": 2,
            "num_workers": 0,
            "prepare": {**PREPARE, "root": str(_generic_tree(tmp_path / "data"))},
        },
        "train": {
            "stages": [{"stage": "tasm", "epochs": 1}],
            "accelerator": "cpu",
            "devices": 2,
            "strategy": "ddp",
            "limit_train_batches": 2,
            "log_every_n_steps": 1,
        },
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "rank.py").write_text(_RANK)
    log = tmp_path / "log.txt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run(
        [*command, str(tmp_path / "rank.py"), str(tmp_path / "config.yaml"), str(log)],
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = sorted(log.read_text().splitlines())
    assert lines == ["prepare 0", "trained 0 True", "trained 1 True"]  # one writer; both ranks trained
    assert (cache / MANIFEST_NAME).is_file() and len(read_manifest(cache)) == 18
