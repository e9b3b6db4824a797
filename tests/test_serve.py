"""stasn serve: the FastAPI app (test client) and, marked slow, the real server under a bounded concurrent load."""

from __future__ import annotations

import io
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from stasn.data.manifest import CacheInfo
from stasn.infer.backends import BackendOutput
from stasn.infer.detector import Detector
from stasn.infer.serve import ServeLimits, create_app
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


@pytest.mark.parametrize(
    ("payload", "name", "status", "message"),
    [
        (b"hello, I am text", "notes.txt", 400, "not a readable image or video"),
        (_mp4()[:1500], "cut.mp4", 400, "cut.mp4"),
        (_mp4()[:-300], "tail.mp4", 400, "tail.mp4"),
        (_png_bomb(), "bomb.png", 413, "10000000000 pixels"),
        (_png_bomb(5000, 4000), "big.png", 413, "5000x4000"),
        (_mp4(frames=12), "long.mp4", 413, "12 frames, the limit is 10"),
    ],
)
def test_bad_uploads_get_4xx_with_a_reason(detector, payload, name, status, message):
    with TestClient(create_app(detector, ServeLimits(max_frames=10))) as client:
        response = _post(client, payload, name=name)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


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

    def __call__(self, frames, highres, frame_index):
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_real_server_survives_bounded_concurrent_load(checkpoint):
    psutil = pytest.importorskip("psutil")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-c",
        "from stasn.cli.main import app; app()",
        "serve",
        "--checkpoint",
        str(checkpoint),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--detector",
        "whole",
        "--device",
        "cpu",
        "--max-queue",
        "4",
    ]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "server did not start in 60 s"
                time.sleep(0.2)
            payloads = [_png((96, 80), seed=i) for i in range(8)]

            def send(i: int) -> list[int]:
                """One request; on 503 back off briefly and retry (as a client honouring Retry-After would)."""
                statuses = []
                for _ in range(200):
                    files = {"file": ("f.png", payloads[i % 8], "image/png")}
                    statuses.append(client.post("/v1/predict", files=files).status_code)
                    if statuses[-1] != 503:
                        break
                    time.sleep(0.05)
                return statuses

            with ThreadPoolExecutor(16) as pool:  # 16 at a time against max_queue=4: overload by design
                warm = list(pool.map(send, range(32)))
                rss_before = psutil.Process(server.pid).memory_info().rss
                load = list(pool.map(send, range(200)))
            rss_after = psutil.Process(server.pid).memory_info().rss
    finally:
        server.terminate()
        server.wait(timeout=20)
    statuses = [s for attempts in warm + load for s in attempts]
    counts = {s: statuses.count(s) for s in set(statuses)}
    assert set(counts) <= {200, 503}, counts  # no 5xx other than the intended overload answer
    assert all(attempts[-1] == 200 for attempts in load), counts  # every request got through in the end
    growth_mb = (rss_after - rss_before) / 2**20
    assert growth_mb < 64, f"server RSS grew by {growth_mb:.0f} MiB over 200 requests ({counts})"
    print(f"load: {counts}, RSS {rss_before / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
