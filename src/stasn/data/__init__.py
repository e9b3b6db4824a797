"""Video decoding, face detection, the face-crop cache and training clips.

``video`` (frames from videos, image sequences, stills) -> ``sampling`` (which frames) -> ``detect`` (where the face
is) -> ``crop`` (the two crops) -> ``prepare`` (``stasn prepare``: the cache, format in ``manifest``) -> ``clips``,
``augment``, ``datamodule`` (training input). Import the submodules; this package imports nothing heavy itself.
"""
