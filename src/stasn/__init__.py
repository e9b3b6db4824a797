"""stasn — face anti-spoofing with STASN (Yang et al., "Face Anti-Spoofing: Model Matters, so Does Data", CVPR 2019).

Label polarity everywhere: ``label`` is 0 for a live (bona fide) face and 1 for an attack, and ``spoof_score`` is a
probability-like number where higher means more likely an attack.
"""

from stasn.labels import LIVE, SPOOF, AttackType

__version__ = "0.1.0"

__all__ = ["LIVE", "SPOOF", "AttackType", "__version__", "Detector"]


def __getattr__(name: str):
    # The inference API pulls in torch; import it lazily so `import stasn` stays light.
    if name == "Detector":
        from stasn.infer.detector import Detector

        return Detector
    raise AttributeError(f"module 'stasn' has no attribute {name!r}")
