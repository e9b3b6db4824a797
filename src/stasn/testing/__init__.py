"""Generated inputs for tests, benchmarks and the pictures in ``docs/``; no real person and no download involved.

* :mod:`stasn.testing.videos` — videos whose frames carry their own index (:func:`~.videos.numbered_frame`), frames
  with a bright square "face" and :class:`~.videos.BrightBoxDetector` that finds it, so ``stasn prepare`` runs without
  a face detector model;
* :mod:`stasn.testing.faces` — a simply drawn face (:func:`~stasn.testing.faces.draw_face`) and a live-looking clip of
  it, input for the synthesizers.

The library itself never imports this package. Import the submodules; this package imports nothing itself.
"""
