"""Published OULU-NPU, SiW and CASIA <-> Replay-Attack figures for STASN and baselines, for side-by-side tables.

Values are percent, as published (mean and, for multi-fold protocols, standard deviation). ``None`` means the number
was **not found** in the material we could read; nothing here is guessed. Where each number comes from is in
``source`` and, with the caveats, in ``docs/paper_results.md``.

The STASN paper is Yang, Luo, Bao, Gao, Gong, Zheng, Li, Liu, "Face Anti-Spoofing: Model Matters, so Does Data",
CVPR 2019. Its own PDF could not be read here; the STASN numbers below come from a secondary compilation (the
Awesome-FAS benchmark tables), which we could not check against the paper.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Pct", "Published", "PROTOCOLS", "PAPER_RESULTS", "published_results"]


class Pct(NamedTuple):
    """A published rate in percent; ``std`` only for protocols averaged over folds."""

    mean: float
    std: float | None = None


class Published(NamedTuple):
    """One method's published numbers on one protocol."""

    method: str
    apcer: Pct | None = None
    bpcer: Pct | None = None
    acer: Pct | None = None
    hter: Pct | None = None  # cross-dataset protocols report HTER only
    source: str = ""
    note: str = ""


_AWESOME = "RizhaoCai/Awesome-FAS"
_OULU_SRC = f"{_AWESOME} Benchmarks/OULU-NPU-4-Protocols.md @155032842750edfc070d39e7cf767aaa33954c9f"
_SIW_SRC = f"{_AWESOME} Benchmarks/SiW-3-Protocols.md @50420c9874ca8cde1e518dfea53b4588b1dfdb87"
_CROSS_SRC = f"{_AWESOME} Benchmarks/CASIA+REPLAY-ATTACK.md @77a186542b2ce3a11cae3a201143ffe5eb877be0"
_STASN_NOTE = "secondary source; not checked against the CVPR 2019 paper (its PDF was not readable here)"

PROTOCOLS: dict[str, str] = {
    "oulu-npu-p1": "OULU-NPU Protocol 1 (unseen environment)",
    "oulu-npu-p2": "OULU-NPU Protocol 2 (unseen attack device)",
    "oulu-npu-p3": "OULU-NPU Protocol 3 (unseen camera, 6 folds)",
    "oulu-npu-p4": "OULU-NPU Protocol 4 (all unseen, 6 folds)",
    "siw-p1": "SiW Protocol 1 (first 60 frames for training)",
    "siw-p2": "SiW Protocol 2 (leave-one-replay-device-out, 4 folds)",
    "siw-p3": "SiW Protocol 3 (print <-> replay, 2 folds)",
    "casia-to-replay": "Train CASIA-FASD, test Replay-Attack (HTER)",
    "replay-to-casia": "Train Replay-Attack, test CASIA-FASD (HTER)",
}


def _oulu(method: str, a: Pct, b: Pct, c: Pct, note: str = "") -> Published:
    return Published(method, a, b, c, None, _OULU_SRC, note)


def _siw(method: str, a: Pct, b: Pct, c: Pct) -> Published:
    return Published(method, a, b, c, None, _SIW_SRC)


def _cross(method: str, hter: float, note: str = "") -> Published:
    return Published(method, hter=Pct(hter), source=_CROSS_SRC, note=note)


_STASN_SIW_MISSING = Published("STASN", source="not found", note="no SiW figure for STASN in the material read")

PAPER_RESULTS: dict[str, list[Published]] = {
    "oulu-npu-p1": [
        _oulu("STASN", Pct(1.2), Pct(0.8), Pct(1.0), _STASN_NOTE),
        _oulu("Auxiliary (Liu et al., CVPR 2018)", Pct(1.6), Pct(1.6), Pct(1.6)),
        _oulu("DeSpoofing (Jourabloo et al., ECCV 2018)", Pct(1.2), Pct(1.7), Pct(1.5)),
        _oulu("CDCN (Yu et al., CVPR 2020)", Pct(0.4), Pct(1.7), Pct(1.0)),
        _oulu("CDCN++ (Yu et al., CVPR 2020)", Pct(0.4), Pct(0.0), Pct(0.2)),
    ],
    "oulu-npu-p2": [
        _oulu("STASN", Pct(4.2), Pct(0.3), Pct(2.2), _STASN_NOTE),
        _oulu("Auxiliary (Liu et al., CVPR 2018)", Pct(2.7), Pct(2.7), Pct(2.7)),
        _oulu("DeSpoofing (Jourabloo et al., ECCV 2018)", Pct(4.2), Pct(4.4), Pct(4.3)),
        _oulu("CDCN (Yu et al., CVPR 2020)", Pct(1.5), Pct(1.4), Pct(1.5)),
        _oulu("CDCN++ (Yu et al., CVPR 2020)", Pct(1.8), Pct(0.8), Pct(1.3)),
    ],
    "oulu-npu-p3": [
        _oulu("STASN", Pct(1.4, 1.4), Pct(3.6, 4.6), Pct(2.5, 2.2), _STASN_NOTE),
        _oulu("Auxiliary (Liu et al., CVPR 2018)", Pct(2.7, 1.3), Pct(3.1, 1.7), Pct(2.9, 1.5)),
        _oulu("DeSpoofing (Jourabloo et al., ECCV 2018)", Pct(4.0, 1.8), Pct(3.8, 1.2), Pct(3.6, 1.6)),
        _oulu("CDCN (Yu et al., CVPR 2020)", Pct(2.4, 1.3), Pct(2.2, 2.0), Pct(2.3, 1.4)),
        _oulu("CDCN++ (Yu et al., CVPR 2020)", Pct(1.7, 1.5), Pct(2.0, 1.2), Pct(1.8, 0.7)),
    ],
    "oulu-npu-p4": [
        _oulu("STASN", Pct(6.7, 10.6), Pct(8.3, 8.4), Pct(7.5, 4.7), _STASN_NOTE),
        _oulu("Auxiliary (Liu et al., CVPR 2018)", Pct(9.3, 5.6), Pct(10.4, 6.0), Pct(9.5, 6.0)),
        _oulu("DeSpoofing (Jourabloo et al., ECCV 2018)", Pct(5.1, 6.3), Pct(6.1, 5.1), Pct(5.6, 5.7)),
        _oulu("CDCN (Yu et al., CVPR 2020)", Pct(4.6, 4.6), Pct(9.2, 8.0), Pct(6.9, 2.9)),
        _oulu("CDCN++ (Yu et al., CVPR 2020)", Pct(4.2, 3.4), Pct(5.8, 4.9), Pct(5.0, 2.9)),
    ],
    "siw-p1": [
        _STASN_SIW_MISSING,
        _siw("Auxiliary (Liu et al., CVPR 2018)", Pct(3.58), Pct(3.58), Pct(3.58)),
        _siw("CDCN (Yu et al., CVPR 2020)", Pct(0.07), Pct(0.17), Pct(0.12)),
        _siw("CDCN++ (Yu et al., CVPR 2020)", Pct(0.07), Pct(0.17), Pct(0.12)),
    ],
    "siw-p2": [
        _STASN_SIW_MISSING,
        _siw("Auxiliary (Liu et al., CVPR 2018)", Pct(0.57, 0.69), Pct(0.57, 0.69), Pct(0.57, 0.69)),
        _siw("CDCN (Yu et al., CVPR 2020)", Pct(0.00, 0.00), Pct(0.13, 0.09), Pct(0.06, 0.04)),
        _siw("CDCN++ (Yu et al., CVPR 2020)", Pct(0.00, 0.00), Pct(0.09, 0.10), Pct(0.04, 0.05)),
    ],
    "siw-p3": [
        _STASN_SIW_MISSING,
        _siw("Auxiliary (Liu et al., CVPR 2018)", Pct(8.31, 3.81), Pct(8.31, 3.81), Pct(8.31, 3.81)),
        _siw("CDCN (Yu et al., CVPR 2020)", Pct(1.67, 0.11), Pct(1.76, 0.12), Pct(1.71, 0.11)),
        _siw("CDCN++ (Yu et al., CVPR 2020)", Pct(1.97, 0.33), Pct(1.77, 0.10), Pct(1.90, 0.15)),
    ],
    "casia-to-replay": [
        _cross("STASN", 31.5, _STASN_NOTE),
        _cross("Auxiliary (Liu et al., CVPR 2018)", 27.6),
        _cross("DeSpoofing (Jourabloo et al., ECCV 2018)", 28.5),
        _cross("CDCN (Yu et al., CVPR 2020)", 15.5),
        _cross("CDCN++ (Yu et al., CVPR 2020)", 6.5),
    ],
    "replay-to-casia": [
        _cross("STASN", 30.9, _STASN_NOTE),
        _cross("Auxiliary (Liu et al., CVPR 2018)", 28.4),
        _cross("DeSpoofing (Jourabloo et al., ECCV 2018)", 41.1),
        _cross("CDCN (Yu et al., CVPR 2020)", 32.6),
        _cross("CDCN++ (Yu et al., CVPR 2020)", 29.8),
    ],
}


def published_results(protocol: str) -> list[Published]:
    """The published rows for ``protocol``; an unknown name raises ``ValueError`` listing the valid ones."""
    if protocol not in PAPER_RESULTS:
        raise ValueError(f"Unknown protocol {protocol!r}. Valid values are {{{', '.join(PAPER_RESULTS)}}}.")
    return PAPER_RESULTS[protocol]
