"""``stasn serve``: the predictor as an HTTP service (FastAPI + uvicorn).

Endpoints:

* ``POST /v1/predict`` — multipart upload, field ``file``: an image or a short video; optional query parameter
  ``threshold``. Answers the same JSON as ``stasn predict --json`` (:meth:`Prediction.to_dict`); an input without a
  usable face is a 200 whose ``status`` says so (``no_face`` / ``face_too_small``).
* ``GET /healthz`` — ``{"status": "ok", "model": {...}, "queue": {...}}``.

Protection (:class:`ServeLimits`): the body size is capped before and while it is read (413); image dimensions
and video frame size/count are read from headers and refused before decoding (413), so decompression bombs cost
nothing; at most ``max_queue`` requests are admitted at a time and the rest get 503 with ``Retry-After`` at once
(overload never queues without bound); the model runs on ``workers`` threads (one by default: the face detectors
keep per-call state, and torch already uses every core in one call); a request that takes longer than
``request_timeout`` seconds gets 504 (its slot stays taken until the work finishes, so the bound holds). Anything
that is not a decodable image or video (or is truncated) gets 400 with a one-line reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from PIL import Image
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stasn import __version__
from stasn.errors import DataError
from stasn.infer.detector import Detector
from stasn.infer.inputs import LimitError, decode_image, open_video_checked
from stasn.infer.result import STATUS_UNREADABLE, Prediction

__all__ = ["ServeLimits", "create_app", "serve"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeLimits:
    """Resource limits of the service (all ours; size them to the host)."""

    max_upload_bytes: int = 20 * 2**20  # whole request body
    max_pixels: int = 4096 * 4096  # per image / video frame, from the header, before decoding
    max_frames: int = 900  # per video (30 s at 30 fps), counted by demuxing, before decoding
    request_timeout: float = 30.0  # seconds from admission to answer; 504 after
    max_queue: int = 8  # requests admitted at once (running + waiting); more get 503
    workers: int = 1  # threads running the model

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0:
                raise ValueError(f"ServeLimits.{name} must be > 0, got {value}")


class _Gate:
    """Counts admitted requests; refuses beyond ``capacity``. Thread-safe (released from worker threads)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.active = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        with self._lock:
            if self.active >= self.capacity:
                return False
            self.active += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


class _BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the upload limit of {limit:,} bytes")


class _BodyLimit:
    """ASGI middleware: 413 when ``Content-Length`` is over the limit, or when more bytes than that arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            error = _BodyTooLarge(self.max_bytes)
            await JSONResponse({"detail": error.detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge(self.max_bytes)  # FastAPI renders HTTPException raised while reading
            return message

        await self.app(scope, limited, send)


def _is_image(data: bytes) -> bool:
    """Whether Pillow recognises an image header (a decompression bomb counts: it is refused as too large)."""
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except Image.DecompressionBombError:
        return True
    except Exception:  # noqa: BLE001 - Pillow raises many types for "not an image"
        return False


def _predict_upload(
    detector: Detector, data: bytes, name: str, limits: ServeLimits, threshold: float | None, deadline: float
) -> Prediction:
    """Runs on a worker thread: decode within the limits, then predict. Raises LimitError / DataError."""
    if time.monotonic() > deadline:  # timed out while waiting for a worker: do not spend the model on it
        raise TimeoutError
    if _is_image(data):
        image = decode_image(data, name=name, max_pixels=limits.max_pixels)
        return detector.predict_image(image, name=name, threshold=threshold)
    suffix = Path(name).suffix
    suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,7}", suffix) else ".bin"  # a hint for the demuxer, sanitised
    with tempfile.TemporaryDirectory(prefix="stasn-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        with open_video_checked(path, max_pixels=limits.max_pixels, max_frames=limits.max_frames, name=name) as video:
            prediction = detector.predict_video(video, name=name, threshold=threshold)
    if prediction.reason:  # messages name the file: show the client its upload's name, not our temp path
        prediction.reason = prediction.reason.replace(str(path), name)
    return prediction


def create_app(detector: Detector, limits: ServeLimits | None = None) -> FastAPI:
    """The FastAPI application serving ``detector`` (see the module doc)."""
    limits = limits or ServeLimits()
    gate = _Gate(limits.max_queue)
    executor = ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="stasn-predict")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="stasn", version=__version__, description="Face anti-spoofing (STASN) predictions.", lifespan=lifespan
    )
    app.add_middleware(_BodyLimit, max_bytes=limits.max_upload_bytes)
    app.state.detector, app.state.limits, app.state.gate = detector, limits, gate

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "model": detector.describe(),
            "queue": {"active": gate.active, "max": limits.max_queue},
            "limits": asdict(limits),
        }

    @app.post("/v1/predict", openapi_extra=_UPLOAD_SCHEMA)
    async def predict(
        request: Request,
        threshold: float | None = Query(None, ge=0.0, le=1.0, description="Overrides the model's threshold."),
    ) -> JSONResponse:
        if not gate.try_enter():
            raise HTTPException(
                503, f"server busy ({limits.max_queue} requests in progress); retry later", headers={"Retry-After": "1"}
            )
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + limits.request_timeout
        handed_over = False
        try:
            data, name = await asyncio.wait_for(_read_upload(request), timeout=limits.request_timeout)
            future = loop.run_in_executor(executor, _predict_upload, detector, data, name, limits, threshold, deadline)
            future.add_done_callback(lambda _: gate.leave())  # the slot is held until the work really ends
            handed_over = True
            remaining = max(0.0, deadline - time.monotonic())
            prediction = await asyncio.wait_for(asyncio.shield(future), timeout=remaining)
        except (asyncio.TimeoutError, TimeoutError):
            raise HTTPException(504, f"the request took longer than {limits.request_timeout:g} s") from None
        except LimitError as exc:
            raise HTTPException(413, str(exc)) from None
        except DataError as exc:
            raise HTTPException(400, str(exc)) from None
        finally:
            if not handed_over:
                gate.leave()
        if prediction.status == STATUS_UNREADABLE:
            raise HTTPException(400, prediction.reason or "unreadable input")
        return JSONResponse(prediction.to_dict())

    return app


async def _read_upload(request: Request) -> tuple[bytes, str]:
    """The bytes and file name of the multipart field ``file``; 4xx for anything else."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send the image or video as multipart/form-data with a field named 'file'")
    try:
        form = await request.form(max_files=1, max_fields=8)
    except HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - multipart parser errors
        raise HTTPException(400, f"cannot parse the multipart body ({exc})") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "missing the multipart file field 'file' (the image or video to score)")
    data = await upload.read()
    await form.close()
    if not data:
        raise HTTPException(400, f"{upload.filename or 'file'}: the upload is empty")
    return data, os.path.basename(upload.filename or "upload")


_UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": "image or video"}},
                }
            }
        },
    }
}


def serve(
    detector: Detector,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: ServeLimits | None = None,
    log_level: str = "info",
) -> None:
    """Run the service with uvicorn until interrupted."""
    import uvicorn

    limits = limits or ServeLimits()
    # uvicorn's own cap on open connections (it answers 503 above it) bounds sockets; our gate bounds the work.
    uvicorn.run(
        create_app(detector, limits),
        host=host,
        port=port,
        log_level=log_level,
        limit_concurrency=max(64, 4 * limits.max_queue),
        timeout_keep_alive=5,
    )
