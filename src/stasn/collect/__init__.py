"""Guided capture of training data: the data-collection half of the paper's data contribution.

* :func:`collect_live` (``stasn collect live``): bona fide clips of a subject, with a countdown and prompts (turn,
  move closer, change the light), from a camera or a video file;
* :func:`collect_replay` (``stasn collect replay``): a filmed replay of every live clip on a display, paired with its
  live clip;
* both write the ``generic`` dataset layout (:mod:`stasn.collect.dataset`), which ``stasn prepare --dataset generic``
  reads unchanged;
* the marker boards for real device templates are :func:`stasn.synth.markers.write_board` (``stasn collect
  template``), their extraction :func:`stasn.synth.templates.extract_templates` (``stasn templates extract``).

See ``docs/collect.md`` for the protocol (people, sessions, lights, devices, consent).
"""

from stasn.collect.live import collect_live
from stasn.collect.prompts import LIVE_PROMPTS, has_display
from stasn.collect.record import CollectSummary
from stasn.collect.replay import collect_replay

__all__ = ["collect_live", "collect_replay", "CollectSummary", "LIVE_PROMPTS", "has_display"]
