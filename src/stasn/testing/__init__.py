"""Generated inputs for tests, benchmarks and the pictures in ``docs/``; no real person and no download involved.

* :mod:`stasn.testing.videos` — videos whose frames carry their own index (:func:`~.videos.numbered_frame`), frames
  with a bright square "face" and :class:`~.videos.BrightBoxDetector` that finds it, so ``stasn prepare`` runs without
  a face detector model;
* :mod:`stasn.testing.faces` — a simply drawn face (:func:`~stasn.testing.faces.draw_face`) and a live-looking clip of
  it, input for the synthesizers;
* :mod:`stasn.testing.device_video` — a drawn phone filmed in varied poses showing a given screen image (the marker
  board of :mod:`stasn.synth.markers`), with its exact screen corners, to test template extraction.

The library itself never imports this package. Import the submodules; this package imports nothing itself.
"""
