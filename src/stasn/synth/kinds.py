"""The attacks stasn synthesizes, by kind name: the one list ``stasn synth --kind``, a training config's
``synth.kinds`` and :class:`~stasn.synth.SynthesizeAttack` accept, and the synthesizer class of each."""

from __future__ import annotations

from stasn.synth.printing import PrintSynthesizer
from stasn.synth.replay import ReplaySynthesizer

__all__ = ["SYNTHESIZERS", "KINDS"]

SYNTHESIZERS: dict[str, type[ReplaySynthesizer] | type[PrintSynthesizer]] = {
    ReplaySynthesizer.kind: ReplaySynthesizer,  # "replay": a screen shows the face
    PrintSynthesizer.kind: PrintSynthesizer,  # "print": a printed photo of the face
}
KINDS: tuple[str, ...] = tuple(SYNTHESIZERS)
