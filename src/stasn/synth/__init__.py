"""Synthesized presentation attacks from live faces: screen replays and prints, physically modelled.

* :class:`ReplaySynthesizer` / :class:`ReplayRanges` / :class:`ReplayParams`: a display shows the face, a camera
  films it (sub-pixel layout, moire from sensor sampling, reflections, bezel, hand, codec).
* :class:`PrintSynthesizer` / :class:`PrintRanges` / :class:`PrintParams`: the face is halftoned, printed, bent,
  held and filmed.
* :class:`SynthesizeAttack`: the on-the-fly transform for training (``ClipDataset(synth_transform=...)``).
* :func:`synthesize_cache`: what ``stasn synth`` runs, writing attacks into a face-crop cache.
* :data:`stasn.synth.kinds.SYNTHESIZERS`: the synthesizer of each attack kind (``replay``, ``print``).

Every synthesizer draws its parameters with an explicit :class:`numpy.random.Generator` (``sample_params(rng)``)
and renders them deterministically (``apply(image, params)``); ``params.to_dict()`` records them.
See ``docs/synthesis.md``.
"""

from stasn.synth.printing import PrintParams, PrintRanges, PrintSynthesizer
from stasn.synth.replay import ReplayParams, ReplayRanges, ReplaySynthesizer
from stasn.synth.transform import SynthesizeAttack

__all__ = [
    "ReplaySynthesizer",
    "ReplayRanges",
    "ReplayParams",
    "PrintSynthesizer",
    "PrintRanges",
    "PrintParams",
    "SynthesizeAttack",
    "synthesize_cache",
    "SynthSummary",
]


def __getattr__(name: str):
    # The cache writer pulls in stasn.data (readers, detectors); load it only when asked for.
    if name in ("synthesize_cache", "SynthSummary"):
        from stasn.synth import generate

        return getattr(generate, name)
    raise AttributeError(f"module 'stasn.synth' has no attribute {name!r}")
