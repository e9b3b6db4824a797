"""stasn serve: the FastAPI app (test client) and, marked slow, the real server under a bounded concurrent load."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import stasn.infer.inputs as inputs_module
from stasn.data.manifest import CacheInfo
from stasn.data.video import VideoFile
from stasn.errors import DataError, LimitError
from stasn.infer.backends import BackendOutput
from stasn.infer.detector import Detector
from stasn.infer.inputs import decode_image, open_video_checked, sniff_media
from stasn.infer.serve import ServeLimits, create_app, make_server
from stasn.model import STASNConfig
from tiny import TINY_MODEL, save_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("serve") / "tiny.ckpt", threshold=0.5)


@pytest.fixture(scope="module")
def detector(checkpoint) -> Detector:
    return Detector.from_checkpoint(checkpoint, device="cpu", detector="whole")


def _png(size=(80, 64), seed=0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _mp4(frames: int = 6, size: int = 64) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        rng = np.random.default_rng(1)
        for _ in range(frames):
            image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return buffer.getvalue()


def _video(fmt: str, codec: str, frames: int = 2, size: int = 32) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            container.mux(
                stream.encode(av.VideoFrame.from_ndarray(np.zeros((size, size, 3), np.uint8), format="rgb24"))
            )
        container.mux(stream.encode())
    return buffer.getvalue()


def _png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid 1x1 PNG whose header claims ``width x height`` (a decompression bomb's calling card), CRC fixed."""
    data = bytearray(_png((1, 1)))
    ihdr = 8 + 8  # signature, then length + "IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])))
    return bytes(data)


def _post(client, data: bytes, name: str = "face.png", **kwargs):
    return client.post("/v1/predict", files={"file": (name, data, "application/octet-stream")}, **kwargs)


def test_healthz_describes_the_model(detector):
    with TestClient(create_app(detector)) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["model"]["num_frames"] == 2 and body["queue"] == {"active": 0, "max": 8}


def test_predict_image_returns_the_predict_json(detector):
    with TestClient(create_app(detector)) as client:
        response = _post(client, _png())
        shifted = _post(client, _png(), params={"threshold": 0.0})
    assert response.status_code == 200
    body = response.json()
    reference = detector.predict_image(np.asarray(Image.open(io.BytesIO(_png())).convert("RGB")), name="face.png")
    assert set(body) == set(reference.to_dict())
    assert body["status"] == "ok" and body["input"] == "face.png"
    assert body["spoof_score"] == pytest.approx(reference.spoof_score, abs=1e-5)
    assert shifted.json()["is_attack"] is True and shifted.json()["threshold"] == 0.0


def test_predict_short_video(detector):
    with TestClient(create_app(detector)) as client:
        response = _post(client, _mp4(), name="clip.mp4")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "video" and body["status"] == "ok" and body["clips"]


def _served_paths(text: str) -> list[str]:
    """Server-side paths a message must never show a client."""
    return [p for p in (tempfile.gettempdir(), "stasn-upload-", "/tmp/") if p in text]


@pytest.mark.parametrize(
    ("payload", "name", "status", "message"),
    [
        (b"hello, I am text", "notes.txt", 415, "notes.txt: not a supported upload; send an image (JPEG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "face.svg", 415, "not a supported upload"),
        (b"GIF89a" + bytes(40), "anim.gif", 415, "not a supported upload"),
        (_mp4()[:1500], "cut.mp4", 400, "cut.mp4"),
        (_mp4()[:-300], "tail.mp4", 400, "tail.mp4"),
        (_png()[:60], "cut.png", 400, "cut.png: "),
        (_png_bomb(), "bomb.png", 413, "10000000000 pixels"),
        (_png_bomb(5000, 4000), "big.png", 413, "5000x4000"),
        (_mp4(frames=12), "long.mp4", 413, "12 frames, the limit is 10"),
        (_mp4(size=128), "wide.mp4", 413, "a video frame is 128x128 = 16,384 pixels, the limit is 10,000"),
    ],
)
def test_bad_uploads_get_4xx_with_a_reason(detector, payload, name, status, message):
    with TestClient(create_app(detector, ServeLimits(max_frames=10, max_pixels=10_000))) as client:
        response = _post(client, payload, name=name)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert message in detail
    assert not _served_paths(detail), detail


def test_the_type_comes_from_the_bytes_not_the_name(detector):
    with TestClient(create_app(detector)) as client:
        image_named_video = _post(client, _png(), name="clip.mp4")
        video_named_image = _post(client, _mp4(), name="face.png")
        no_suffix = _post(client, _png(), name="blob")
    assert image_named_video.status_code == 200 and image_named_video.json()["kind"] == "image"
    assert video_named_image.status_code == 200 and video_named_image.json()["kind"] == "video"
    assert no_suffix.status_code == 200 and no_suffix.json()["input"] == "blob"


def test_an_empty_upload_says_so_plainly(detector):
    with TestClient(create_app(detector)) as client:
        response = _post(client, b"", name="empty.jpg")
    assert response.status_code == 400 and response.json()["detail"] == "empty.jpg: the upload is empty"


@pytest.mark.parametrize(
    "media",
    [
        ("jpeg", lambda: cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()),
        ("png", lambda: _png((8, 8))),
        ("webp", lambda: cv2.imencode(".webp", np.zeros((8, 8, 3), np.uint8))[1].tobytes()),
        ("bmp", lambda: cv2.imencode(".bmp", np.zeros((8, 8, 3), np.uint8))[1].tobytes()),
        ("tiff", lambda: cv2.imencode(".tif", np.zeros((8, 8, 3), np.uint8))[1].tobytes()),
        ("mp4", lambda: _mp4(frames=2)),
        ("mkv", lambda: _video("matroska", "mpeg4")),
        ("webm", lambda: _video("webm", "libvpx")),
        ("avi", lambda: _video("avi", "mpeg4")),
        ("mov", lambda: _video("mov", "mpeg4")),
    ],
    ids=lambda m: m[0],
)
def test_sniff_media_knows_the_accepted_containers(media):
    name, make = media
    try:
        data = make()
    except (av.FFmpegError, ValueError) as exc:  # an FFmpeg build without this encoder
        pytest.skip(f"cannot write {name} here: {exc}")
    found = sniff_media(data)
    assert found is not None and found.name == name
    assert found.kind == ("image" if name in {"jpeg", "png", "webp", "bmp", "tiff"} else "video")


def test_sniff_media_refuses_everything_else():
    for data in (b"", b"#EXTM3U\n", b"ffconcat version 1.0\n", b"GIF89a", b"BMxxxx", b"RIFF\0\0\0\0WAVE", b"%PDF-1"):
        assert sniff_media(data) is None, data


class _OpenWatch:
    """Tells whether anyone opened a FIFO for reading: a non-blocking open for writing succeeds only then."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path, self.opened, self._stop = path, threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader
                time.sleep(0.002)
                continue
            self.opened.set()
            os.close(fd)  # the reader sees end of file at once
            return

    def stop(self) -> bool:
        self._stop.set()
        self._thread.join(5)
        return self.opened.is_set()


def _playlist(target: Path) -> bytes:
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n".encode()


def _ffconcat(target: Path) -> bytes:
    return f"ffconcat version 1.0\nfile '{target}'\n".encode()


def test_a_playlist_really_makes_ffmpeg_open_a_local_file(tmp_path):
    """Guards the next test: the watcher sees FFmpeg open the file a playlist names when FFmpeg guesses the format
    (as the service did when it handed unknown uploads to FFmpeg)."""
    watch = _OpenWatch(tmp_path / "secret.mp4")
    (tmp_path / "list.m3u8").write_bytes(_playlist(watch.path))

    def open_playlist() -> None:
        with contextlib.suppress(av.FFmpegError):
            av.open(str(tmp_path / "list.m3u8")).close()

    thread = threading.Thread(target=open_playlist, daemon=True)
    thread.start()
    thread.join(20)
    assert watch.stop(), "FFmpeg did not open the playlist's target: the next test would prove nothing"


def test_playlist_and_concat_uploads_get_415_and_open_no_local_file(detector, tmp_path):
    watch = _OpenWatch(tmp_path / "secret.mp4")
    uploads = [
        (_playlist(watch.path), "clip.m3u8"),
        (_playlist(watch.path), "clip.mp4"),
        (_ffconcat(watch.path), "list.txt"),
        (_ffconcat(watch.path), "clip.mkv"),
    ]
    with TestClient(create_app(detector)) as client:
        responses = [_post(client, payload, name=name) for payload, name in uploads]
    assert [r.status_code for r in responses] == [415] * 4, [r.text for r in responses]
    assert all(str(watch.path) not in r.text for r in responses)
    assert not watch.stop(), "a local file named in an upload was opened"


def test_a_forced_demuxer_does_not_read_a_playlist_as_one(tmp_path):
    """Even a playlist saved under a video name is parsed as that container (and fails), never followed."""
    watch = _OpenWatch(tmp_path / "secret.mp4")
    (tmp_path / "upload.mp4").write_bytes(_playlist(watch.path))
    with pytest.raises(DataError, match="clip.mp4: not a readable image or video"):
        open_video_checked(tmp_path / "upload.mp4", name="clip.mp4", demuxer="mov")
    assert not watch.stop()


def test_decoded_frames_are_checked_not_only_headers(tmp_path, monkeypatch):
    (tmp_path / "v.mp4").write_bytes(_mp4(frames=2, size=64))
    with VideoFile(tmp_path / "v.mp4", max_pixels=64 * 64 - 1) as video:  # opens: the header is not checked here
        with pytest.raises(LimitError, match="a decoded frame is 64x64 = 4,096 pixels, the limit is 4,095"):
            video.frame(0)

    class Lying:  # a header that claims 1x1 pixels
        size = (1, 1)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr(inputs_module.Image, "open", lambda *a, **k: Lying())
    with pytest.raises(LimitError, match="face.png: decoded image is 80x64 = 5,120 pixels, the limit is 100"):
        decode_image(_png(), name="face.png", max_pixels=100)


def test_local_videos_may_not_reach_the_network(tmp_path):
    """The CLI's own files too: FFmpeg may use the file protocol only (a playlist naming a URL fails)."""
    (tmp_path / "remote.m3u8").write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nhttp://127.0.0.1:9/segment.ts\n#EXT-X-ENDLIST\n"
    )
    with pytest.raises(DataError):
        VideoFile(tmp_path / "remote.m3u8")


def test_empty_or_unknown_image_bytes_have_a_plain_reason():
    with pytest.raises(DataError, match=r"^x.jpg: the file is empty$"):
        decode_image(b"", name="x.jpg")
    with pytest.raises(DataError) as info:
        decode_image(b"not an image at all", name="x.jpg")
    assert "BytesIO" not in str(info.value) and "0x" not in str(info.value)


def test_upload_size_and_form_errors(detector):
    with TestClient(create_app(detector, ServeLimits(max_upload_bytes=4096))) as client:
        big = _post(client, _png((200, 200)))
        chunks = (b"--x\r\n" + b"0" * 1000 for _ in range(10))  # chunked: no Content-Length, counted as it arrives
        streamed = client.post(
            "/v1/predict", content=chunks, headers={"content-type": "multipart/form-data; boundary=x"}
        )
        no_file = client.post("/v1/predict", files={"other": ("x.png", _png((8, 8)), "image/png")})
        not_form = client.post("/v1/predict", content=_png((8, 8)), headers={"content-type": "image/png"})
        bad_threshold = _post(client, _png((8, 8)), params={"threshold": 2})
    assert big.status_code == 413 and "upload limit" in big.json()["detail"]
    assert streamed.status_code == 413 and "upload limit" in streamed.json()["detail"]
    assert no_file.status_code == 422 and "'file'" in no_file.json()["detail"]
    assert not_form.status_code == 415
    assert bad_threshold.status_code == 422


class _BlockingBackend:
    """Scores 0.9 once ``release`` is set; lets tests hold requests inside the model."""

    name = "blocking"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.calls: list[int] = []  # clips per model call

    def __call__(self, frames, highres, frame_index):
        self.calls.append(frame_index.shape[0])
        self.entered.release()
        self.release.wait(10)
        b, t = frame_index.shape
        return BackendOutput(
            np.full(b, 0.9, np.float32),
            np.full(b, 0.9, np.float32),
            np.full(b, 0.9, np.float32),
            np.tile(np.array([0, 0, 32, 32], np.float32), (b, t, 2, 1)),
        )


def _blocking_detector() -> tuple[Detector, _BlockingBackend]:
    backend = _BlockingBackend()
    det = Detector(
        backend, config=STASNConfig(**TINY_MODEL), cache_info=CacheInfo(64, 128), threshold=0.5, face_detector="whole"
    )
    return det, backend


def test_overload_gets_503_not_a_queue(detector):
    det, backend = _blocking_detector()
    with TestClient(create_app(det, ServeLimits(max_queue=2))) as client, ThreadPoolExecutor(2) as pool:
        held = [pool.submit(_post, client, _png()) for _ in range(2)]
        assert backend.entered.acquire(timeout=10)  # one request is inside the model, the other admitted
        deadline = time.monotonic() + 10
        while client.get("/healthz").json()["queue"]["active"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        refused = _post(client, _png())
        backend.release.set()
        statuses = [f.result().status_code for f in held]
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert statuses == [200, 200]


def test_slow_request_gets_504_and_keeps_its_slot_until_done():
    det, backend = _blocking_detector()
    app = create_app(det, ServeLimits(request_timeout=0.3, max_queue=1))
    with TestClient(app) as client:
        response = _post(client, _png())
        assert response.status_code == 504 and "0.3 s" in response.json()["detail"]
        assert client.get("/healthz").json()["queue"]["active"] == 1  # the model is still busy with it
        backend.release.set()
        deadline = time.monotonic() + 10
        while app.state.gate.active and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _post(client, _png()).status_code == 200


def _wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.mark.parametrize(("max_batch", "calls"), [(8, [1, 3]), (1, [1, 1, 1, 1])])
def test_images_waiting_together_share_one_model_call(max_batch, calls):
    det, backend = _blocking_detector()
    app = create_app(det, ServeLimits(max_queue=8, max_batch=max_batch))
    with TestClient(app) as client, ThreadPoolExecutor(4) as pool:
        first = pool.submit(_post, client, _png())
        assert backend.entered.acquire(timeout=10)  # the worker is busy with the first request
        rest = [pool.submit(_post, client, _png(seed=i), params={"threshold": t}) for i, t in ((1, 0.95), (2, 0.5))]
        rest.append(pool.submit(_post, client, _png(seed=3)))
        _wait_until(lambda: app.state.gate.active == 4)  # three wait together behind it
        backend.release.set()
        bodies = [f.result().json() for f in [first, *rest]]
        batches = client.get("/healthz").json()["batches"]
    assert backend.calls == calls
    assert batches == {str(n): calls.count(n) for n in set(calls)}
    # one call, but each request judged at its own threshold (score 0.9)
    assert [(b["threshold"], b["is_attack"]) for b in bodies] == [(0.5, True), (0.95, False), (0.5, True), (0.5, True)]
    assert [b["input"] for b in bodies] == ["face.png"] * 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _server_thread(detector: Detector, limits: ServeLimits):
    """The real uvicorn server (:func:`make_server`) on 127.0.0.1 in a thread of this process; yields its port."""
    port = _free_port()
    server = make_server(detector, host="127.0.0.1", port=port, limits=limits, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_until(lambda: server.started, 30)
        yield port
    finally:
        server.should_exit = True
        thread.join(15)


def _raw(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.sendall(data)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the socket times out)."""
    chunks = []
    with contextlib.suppress(TimeoutError, ConnectionError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_slow_clients_hold_no_model_slot_and_are_timed_out(detector):
    """A client that stops halfway through its body keeps only an upload slot: a normal request is served at once
    (with one model slot in all); the slow one gets 408 after ``read_timeout`` and its connection is closed. A
    client that never finishes its headers, or sends nothing, is disconnected after ``header_timeout``."""
    limits = ServeLimits(max_queue=1, read_timeout=3.0, header_timeout=2.0)
    body = b"--b\r\nContent-Disposition: form-data; name=file; filename=f.png\r\n\r\n" + _png()
    head = (
        "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(body) + 8}\r\n\r\n"
    ).encode()
    with _server_thread(detector, limits) as port:
        started = time.monotonic()
        slow = [_raw(port, head + body[:200]) for _ in range(3)]  # three uploads stalled halfway
        half_head = _raw(port, b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        silent = _raw(port, b"")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:
            normal = client.post("/v1/predict", files={"file": ("face.png", _png(), "image/png")})
            served_after = time.monotonic() - started
            health = client.get("/healthz").json()
        assert normal.status_code == 200, normal.text
        assert served_after < limits.read_timeout, f"the normal request waited {served_after:.1f} s behind slow ones"
        assert health["uploads"]["active"] == 3 and health["queue"]["active"] == 0

        for sock in (half_head, silent):
            assert _read_all(sock) == b"", "closed without an answer"
            assert time.monotonic() - started < limits.header_timeout + 5
        for sock in slow:
            answer = _read_all(sock)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
            assert b"did not arrive within 3 s" in answer
        waited = time.monotonic() - started
        assert limits.read_timeout - 0.5 < waited < limits.read_timeout + 5, waited
        for sock in (*slow, half_head, silent):
            sock.close()


def _start_cli_server(checkpoint: Path, port: int, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", "from stasn.cli.main import app; app()", "serve", "--checkpoint", str(checkpoint)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--detector", "whole", "--device", "cpu", *args]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300  # returns as soon as it answers; a loaded 2-core machine needs > 60 s to import
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise AssertionError(server.stderr.read().decode()[-2000:])
        if time.monotonic() > deadline:
            server.kill()
            raise AssertionError("server did not start in 300 s")
        time.sleep(0.2)


async def _burst(base: str, payloads: list[bytes], clients: int, seconds: float) -> tuple[list, list]:
    """``clients`` connections opened at once, each sending uploads back to back for ``seconds`` (50 ms pause after
    a 503), with ``/healthz`` polled from a thread on its own connection all the while. Returns (per upload:
    (status, Retry-After) or the exception; per poll: (status, seconds) or the exception)."""
    import asyncio

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    end = time.monotonic() + seconds
    polls: list = []
    uploading = threading.Event()

    def poll() -> None:  # on a thread with its own connection: the uploads' event loop does not delay it
        with httpx.Client(base_url=base, timeout=10) as health:
            uploading.wait(10)
            while uploading.is_set():
                start = time.monotonic()
                try:
                    polls.append((health.get("/healthz").status_code, time.monotonic() - start))
                except httpx.HTTPError as exc:
                    polls.append(exc)
                time.sleep(0.05)

    async def uploads(client: httpx.AsyncClient, i: int) -> list:
        results = []
        while time.monotonic() < end:
            try:
                response = await client.post("/v1/predict", files={"file": ("f.png", payloads[i % len(payloads)])})
                results.append((response.status_code, response.headers.get("retry-after")))
            except httpx.HTTPError as exc:
                results.append(exc)
                break
            if results[-1][0] == 503:
                await asyncio.sleep(0.05)
        return results

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            uploading.set()
            tasks = [uploads(client, i) for i in range(clients)]
            per_client = await asyncio.wait_for(asyncio.gather(*tasks), seconds + 120)
    finally:
        uploading.clear()
        poller.join(15)
    return [r for results in per_client for r in results], polls


@pytest.mark.slow
def test_real_server_answers_a_burst_of_200_connections(checkpoint):
    """200 simultaneous connections against ``--max-queue 4``, each uploading back to back for 3 s, three times:
    every upload gets 200 or 503 with Retry-After (no connection error, no other status), ``/healthz`` answers
    throughout, memory stays flat."""
    import asyncio

    psutil = pytest.importorskip("psutil")
    port = _free_port()
    server = _start_cli_server(checkpoint, port, "--max-queue", "4")
    payloads = [_png((96, 80), seed=i) for i in range(8)]
    try:
        rounds = [asyncio.run(_burst(f"http://127.0.0.1:{port}", payloads, 200, 3.0))]  # warm-up round
        rss_before = psutil.Process(server.pid).memory_info().rss
        rounds += [asyncio.run(_burst(f"http://127.0.0.1:{port}", payloads, 200, 3.0)) for _ in range(2)]
        rss_after = psutil.Process(server.pid).memory_info().rss
        assert server.poll() is None, "the server died"
    finally:
        server.terminate()
        server.wait(timeout=20)
        server.stderr.close()
    for results, polls in rounds:
        errors = [r for r in results if isinstance(r, Exception)]
        assert not errors, f"{len(errors)} connection errors, e.g. {errors[0]!r}"
        counts = {s: sum(1 for r in results if r[0] == s) for s in {r[0] for r in results}}
        assert set(counts) <= {200, 503} and counts.get(200, 0) >= 4 and counts.get(503, 0) > 0, counts
        assert all(retry == "1" for status, retry in results if status == 503), "503 without Retry-After"
        assert polls and all(not isinstance(p, Exception) and p[0] == 200 for p in polls), polls
        assert max(seconds for _, seconds in polls) < 5.0, "/healthz was slow during the burst"
    growth_mb = (rss_after - rss_before) / 2**20
    assert growth_mb < 64, f"server RSS grew by {growth_mb:.0f} MiB over two bursts"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
