"""Inference: score faces with a trained checkpoint, explain the score, export to ONNX, serve over HTTP.

* :mod:`stasn.infer.detector` — :class:`~stasn.infer.detector.Detector` (also ``stasn.Detector``): images, videos,
  batches and streams;
* :mod:`stasn.infer.result` — :class:`~stasn.infer.result.Prediction` and its JSON form;
* :mod:`stasn.infer.backends` — PyTorch and ONNX Runtime behind one call;
* :mod:`stasn.infer.export` — ``stasn export`` (one ONNX graph, parity-checked);
* :mod:`stasn.infer.inputs`, :mod:`stasn.infer.predict`, :mod:`stasn.infer.overlay` — what ``stasn predict`` reads,
  runs and draws;
* :mod:`stasn.infer.serve` — ``stasn serve`` (FastAPI).

Nothing is imported here, so ``import stasn.infer`` stays light; see ``docs/deploy.md``.
"""
