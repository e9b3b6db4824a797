"""Which files stasn reads as still images and which as videos, by file-name suffix (lower case, with the dot).

The one list for the dataset adapters, the frame readers (:mod:`stasn.data.video`), ``stasn synth``'s image
folders, ``stasn predict``'s inputs and the demo. Uploads to ``stasn serve`` are typed by their bytes instead
(:func:`stasn.infer.inputs.sniff_media`).
"""

from __future__ import annotations

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})  # OpenCV reads
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".3gp", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
)  # FFmpeg (PyAV) reads
