"""Video decoding, face detection, the face-crop cache and training clips.

``video`` (frames from videos, image sequences, stills; the JPEG codec) -> ``sampling`` (which frames, where clips
start) -> ``detect`` (where the face is) -> ``crop`` (the two crops) -> ``prepare`` (``stasn prepare``: the cache,
format in ``manifest``, layout and writes in ``cache``) -> ``clips``, ``augment``, ``datamodule`` (training input).
Import the submodules; this package imports nothing heavy itself.
"""
