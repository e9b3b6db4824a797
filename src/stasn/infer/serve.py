"""``stasn serve``: the predictor as an HTTP service (FastAPI + uvicorn).

Endpoints:

* ``POST /v1/predict`` — multipart upload, field ``file``: an image or a short video; optional query parameter
  ``threshold``. Answers the same JSON as ``stasn predict --json`` (:meth:`Prediction.to_dict`); an input without a
  usable face is a 200 whose ``status`` says so (``no_face`` / ``face_too_small``).
* ``GET /healthz`` — ``{"status": "ok", "model": {...}, "queue": {...}}``; answered on the event loop, never behind
  the model, so it answers during any burst.
* ``GET /`` — a self-contained page to try the model in a browser (:mod:`stasn.infer.page`): an image, a video or a
  few webcam frames, with the score, the decision, the face box and the RAM regions drawn, and the time taken.

Admission (:class:`ServeLimits`), in the order a request meets it:

1. **Connections.** uvicorn accepts up to ``max_connections`` (1024) open connections, far above what is admitted
   below, so a burst is answered request by request instead of having connections refused. A connection must send
   a request's headers within ``header_timeout`` seconds (also after a response, on keep-alive) or it is closed, so
   half-sent headers cannot pile up.
2. **Before the body.** When the model queue is full, or ``max_uploads`` bodies are already being received, the
   answer is 503 with ``Retry-After`` at once, before a byte of the body is read.
3. **The body** must arrive within ``read_timeout`` seconds (408 and the connection closed after) and within
   ``max_upload_bytes`` (413, from ``Content-Length`` before reading and counted while reading). A slow upload
   holds only an upload slot, never a model slot.
4. **The type** is decided from the bytes (:func:`~stasn.infer.inputs.sniff_media`): anything but the accepted image
   and video containers gets 415 before any decoder sees it. Image dimensions and video frame size/count are read
   from headers and refused before decoding (413), and every decoded frame is checked again.
5. **The model queue.** Only now is a model slot taken: at most ``max_queue`` requests are admitted (waiting +
   running), the rest get 503 with ``Retry-After``. ``workers`` threads run the model (one by default: the face
   detectors keep per-call state, and torch already uses every core in one call). Still images that are waiting
   together when a worker becomes free are scored in one model call (up to ``max_batch``; no request waits for
   others to arrive). A request that takes longer than ``request_timeout`` seconds from admission gets 504 (its slot
   stays taken until the work really ends, so the bound holds).

Anything that is a decodable type but cannot be decoded (or is truncated) gets 400 with a one-line reason, which
names the upload by its file name and never shows a path on the server.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stasn import __version__
from stasn.errors import DataError, LimitError
from stasn.infer.detector import Detector
from stasn.infer.inputs import UPLOAD_FORMATS, MediaType, decode_image, open_video_checked, sniff_media
from stasn.infer.page import PAGE_HTML
from stasn.infer.result import STATUS_UNREADABLE, Prediction

__all__ = ["ServeLimits", "create_app", "make_server", "serve"]

log = logging.getLogger(__name__)

RETRY_AFTER = "1"  # seconds; what a 503 tells the client to wait


@dataclass(frozen=True)
class ServeLimits:
    """Resource limits of the service (all ours; size them to the host). Memory for bodies is bounded by
    ``max_uploads * max_upload_bytes`` (640 MiB by default; lower ``max_uploads`` on a small host)."""

    max_upload_bytes: int = 20 * 2**20  # whole request body
    max_pixels: int = 4096 * 4096  # per image / video frame, from the header before decoding, then per decoded frame
    max_frames: int = 900  # per video (30 s at 30 fps), counted by demuxing, before decoding
    request_timeout: float = 30.0  # seconds from admission to the model queue to the answer; 504 after
    max_queue: int = 8  # requests admitted to the model at once (running + waiting); more get 503
    workers: int = 1  # threads running the model
    max_batch: int = 8  # still images scored in one model call when they wait together; 1 = one call per request
    max_uploads: int = 32  # request bodies received at once; more get 503 before their body is read
    read_timeout: float = 30.0  # seconds for a whole body to arrive once its headers are in; 408 after
    header_timeout: float = 10.0  # seconds for a request's headers to arrive; the connection is closed after
    max_connections: int = 1024  # open connections uvicorn accepts (its 503 above it); keep it >> max_uploads

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"ServeLimits.{name} must be > 0, got {value}")


class _Gate:
    """Counts admitted requests; refuses beyond ``capacity``. Thread-safe (released from worker threads)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.active = 0
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        return self.active >= self.capacity

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


@dataclass
class _Job:
    """One admitted upload on its way through the model workers; ``future`` gets a Prediction or an exception."""

    media: MediaType
    data: bytes
    name: str
    threshold: float | None
    deadline: float  # time.monotonic() after which the work is not started
    future: concurrent.futures.Future


class _ModelWorkers:
    """``workers`` threads taking jobs in arrival order. A worker that takes a still image also takes the images
    queued right behind it (up to ``max_batch``) and scores them in one model call; a video is scored alone."""

    def __init__(self, detector: Detector, limits: ServeLimits) -> None:
        self.detector = detector
        self.limits = limits
        self.batches: collections.Counter[int] = collections.Counter()  # batch size -> model calls (for /healthz)
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, name=f"stasn-predict-{i}", daemon=True) for i in range(limits.workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: _Job) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    def _run(self) -> None:
        held: collections.deque[_Job] = collections.deque()  # a video taken while gathering images: next in line
        while True:
            job = held.popleft() if held else self._jobs.get()
            if job is None:
                return
            if job.media.kind == "video":
                self._one(job, self._predict_video)
                continue
            batch = [job]
            while len(batch) < self.limits.max_batch and not held:
                try:
                    following = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    self._jobs.put(None)  # stop after this batch
                    break
                (batch if following.media.kind == "image" else held).append(following)
            self._images(batch)

    def _start(self, job: _Job) -> bool:
        """Mark the job running; ``False`` (and its future failed) when it waited past its deadline."""
        if not job.future.set_running_or_notify_cancel():
            return False
        if time.monotonic() > job.deadline:  # timed out while queued: do not spend the model on it
            job.future.set_exception(TimeoutError())
            return False
        return True

    def _one(self, job: _Job, predict: Any) -> None:
        if not self._start(job):
            return
        try:
            job.future.set_result(predict(job))
        except BaseException as exc:  # noqa: BLE001 - handed to the request, which answers 4xx/5xx
            job.future.set_exception(exc)

    def _images(self, batch: list[_Job]) -> None:
        ready, images = [], []
        for job in batch:
            if not self._start(job):
                continue
            try:
                images.append(decode_image(job.data, name=job.name, max_pixels=self.limits.max_pixels))
                ready.append(job)
            except BaseException as exc:  # noqa: BLE001 - LimitError / DataError for this upload only
                job.future.set_exception(exc)
        if not ready:
            return
        self.batches[len(ready)] += 1
        try:
            predictions = self.detector.predict_batch(images, names=[job.name for job in ready])
        except BaseException as exc:  # noqa: BLE001 - a model failure fails every request of the batch
            for job in ready:
                job.future.set_exception(exc)
            return
        for job, prediction in zip(ready, predictions, strict=True):
            job.future.set_result(prediction if job.threshold is None else prediction.with_threshold(job.threshold))

    def _predict_video(self, job: _Job) -> Prediction:
        """Write the upload to a temporary file named by its sniffed type, open it with that demuxer forced."""
        limits = self.limits
        with tempfile.TemporaryDirectory(prefix="stasn-upload-") as folder:
            path = Path(folder) / f"upload{job.media.suffix}"
            path.write_bytes(job.data)
            try:
                with open_video_checked(
                    path,
                    max_pixels=limits.max_pixels,
                    max_frames=limits.max_frames,
                    name=job.name,
                    demuxer=job.media.demuxer,
                ) as video:
                    prediction = self.detector.predict_video(video, name=job.name, threshold=job.threshold)
            except DataError as exc:  # LimitError included: same type, the server's paths replaced
                raise type(exc)(_scrub(str(exc), path, job.name)) from None
            if prediction.reason:  # messages name the file: show the client its upload's name, not our paths
                prediction.reason = _scrub(prediction.reason, path, job.name)
        return prediction


def _scrub(text: str, path: Path, name: str) -> str:
    """Replace the temporary upload file (by the upload's name) and its folder in a message."""
    for variant in {str(path), os.path.realpath(path)}:
        text = text.replace(variant, name)
    for variant in {str(path.parent), os.path.realpath(path.parent)}:
        text = text.replace(variant, "upload")
    return text


def create_app(detector: Detector, limits: ServeLimits | None = None) -> FastAPI:
    """The FastAPI application serving ``detector`` (see the module doc)."""
    limits = limits or ServeLimits()
    gate = _Gate(limits.max_queue)
    uploads = _Gate(limits.max_uploads)
    workers = _ModelWorkers(detector, limits)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        workers.close()

    app = FastAPI(
        title="stasn", version=__version__, description="Face anti-spoofing (STASN) predictions.", lifespan=lifespan
    )
    app.add_middleware(_BodyLimit, max_bytes=limits.max_upload_bytes)
    app.state.detector, app.state.limits, app.state.gate, app.state.uploads = detector, limits, gate, uploads
    app.state.workers = workers

    def busy(what: str) -> HTTPException:
        return HTTPException(503, f"server busy ({what}); retry later", headers={"Retry-After": RETRY_AFTER})

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:  # one static document: no external assets, works offline
        return HTMLResponse(PAGE_HTML, headers={"Cache-Control": "no-store"})

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:  # async: answered on the event loop, never queued behind a thread pool
        return {
            "status": "ok",
            "version": __version__,
            "model": detector.describe(),
            "queue": {"active": gate.active, "max": limits.max_queue},
            "uploads": {"active": uploads.active, "max": limits.max_uploads},
            "batches": dict(sorted(workers.batches.items())),
            "limits": asdict(limits),
        }

    @app.post("/v1/predict", openapi_extra=_UPLOAD_SCHEMA)
    async def predict(
        request: Request,
        threshold: float | None = Query(None, ge=0.0, le=1.0, description="Overrides the model's threshold."),
    ) -> JSONResponse:
        # 1. Refuse at once when the work could not be admitted anyway (nothing of the body read yet).
        if gate.full:
            raise busy(f"{limits.max_queue} requests in progress")
        if not uploads.try_enter():
            raise busy(f"{limits.max_uploads} uploads arriving")
        # 2. The body, within its own time limit; a slow client holds an upload slot, not a model slot.
        try:
            data, name = await asyncio.wait_for(_read_upload(request), timeout=limits.read_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise HTTPException(
                408, f"the upload did not arrive within {limits.read_timeout:g} s", headers={"Connection": "close"}
            ) from None
        finally:
            uploads.leave()
        # 3. The type, from the bytes.
        media = sniff_media(data)
        if media is None:
            raise HTTPException(415, f"{name}: not a supported upload; send {UPLOAD_FORMATS}")
        # 4. A model slot, held until the work really ends.
        if not gate.try_enter():
            raise busy(f"{limits.max_queue} requests in progress")
        job = _Job(media, data, name, threshold, time.monotonic() + limits.request_timeout, concurrent.futures.Future())
        job.future.add_done_callback(lambda _: gate.leave())
        workers.submit(job)
        result = asyncio.wrap_future(job.future)
        result.add_done_callback(_retrieve)  # an answer that comes after a 504 is dropped quietly
        try:
            prediction = await asyncio.wait_for(asyncio.shield(result), timeout=limits.request_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise HTTPException(504, f"the request took longer than {limits.request_timeout:g} s") from None
        except LimitError as exc:
            raise HTTPException(413, str(exc)) from None
        except DataError as exc:
            raise HTTPException(400, str(exc)) from None
        if prediction.status == STATUS_UNREADABLE:
            raise HTTPException(400, prediction.reason or "unreadable input")
        return JSONResponse(prediction.to_dict())

    return app


def _retrieve(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


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
    name = os.path.basename(upload.filename or "") or "upload"
    if not data:
        raise HTTPException(400, f"{name}: the upload is empty")
    return data, name


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


def _header_timeout_protocol(header_timeout: float) -> type:
    """uvicorn's HTTP/1.1 protocol (h11) plus a deadline for each request's headers.

    The timer runs from the moment a connection opens, and again from the end of each response, until the next
    request's headers are complete; when it fires with no request in progress the connection is closed. uvicorn
    itself has no such deadline: a client that sends half a request line would keep its connection forever.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:  # a request's headers are in
                self._cancel_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
                self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(header_timeout, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutH11Protocol


def make_server(
    detector: Detector,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: ServeLimits | None = None,
    log_level: str = "info",
):
    """A ``uvicorn.Server`` for :func:`create_app` with the connection-level limits of ``limits`` (``.run()`` it,
    or run it on a thread as the tests do)."""
    import uvicorn

    limits = limits or ServeLimits()
    config = uvicorn.Config(
        create_app(detector, limits),
        host=host,
        port=port,
        log_level=log_level,
        http=_header_timeout_protocol(limits.header_timeout),
        # uvicorn's cap counts open connections; ours (above) bounds uploads and model work, so this one only
        # bounds sockets and sits far above them: a burst gets answers, not refused connections.
        limit_concurrency=limits.max_connections,
        backlog=2048,
        timeout_keep_alive=5,
    )
    return uvicorn.Server(config)


def serve(
    detector: Detector,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: ServeLimits | None = None,
    log_level: str = "info",
) -> None:
    """Run the service with uvicorn until interrupted."""
    make_server(detector, host=host, port=port, limits=limits, log_level=log_level).run()
