"""The page ``stasn serve`` answers on ``/``, driven by a real headless browser (Debian's ``chromium``; the test skips
when it is absent). The page is opened with ``#try=<data: URL of a picture>``, scores it through ``/v1/predict`` and
draws the answer; the test reads the rendered DOM and takes a screenshot (``STASN_PAGE_SCREENSHOT=path`` keeps it, and
``STASN_PAGE_RELEASE=1`` serves the released model with YuNet: ``docs/img/serve_page.png`` was made that way, from a
procedural face).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from stasn.demo.faces import render_clip
from stasn.demo.identity import sample_identity
from stasn.infer.detector import Detector
from stasn.infer.page import PAGE_HTML
from stasn.infer.serve import ServeLimits, create_app, make_server
from tiny import save_tiny_checkpoint

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _face_jpeg() -> bytes:
    """A procedural face (stasn.demo), small enough to travel in a data: URL on the command line."""
    rng = np.random.default_rng(4)
    frames, _ = render_clip(sample_identity(rng), num_frames=1, size=(300, 400), rng=rng)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok and len(data) < 60_000
    return data.tobytes()


def test_page_is_self_contained(tmp_path):
    from fastapi.testclient import TestClient

    det = Detector.from_checkpoint(save_tiny_checkpoint(tmp_path / "tiny.ckpt"), device="cpu", detector="whole")
    response = TestClient(create_app(det)).get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.text == PAGE_HTML
    # nothing is loaded from elsewhere: no external script, style, font or image
    for marker in ("http://", "https://", "//cdn", "<link ", "@import", 'src="http'):
        assert marker not in PAGE_HTML, marker
    assert "getUserMedia" in PAGE_HTML and "/v1/predict" in PAGE_HTML


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (apt-get install chromium)")
def test_page_scores_a_picture_in_a_real_browser(tmp_path):
    if os.environ.get("STASN_PAGE_RELEASE"):  # the docs' screenshot: the released model and the shipped YuNet
        detector = Detector.default(device="cpu")
    else:
        checkpoint = save_tiny_checkpoint(tmp_path / "tiny.ckpt", threshold=0.5)
        detector = Detector.from_checkpoint(checkpoint, device="cpu", detector="whole")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server(detector, host="127.0.0.1", port=port, limits=ServeLimits(), log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/#try=data:image/jpeg;base64," + base64.b64encode(_face_jpeg()).decode()
        common = [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1100,760",
            "--virtual-time-budget=20000",
        ]
        dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
        assert 'data-state="scored"' in dom, dom[-2000:]
        assert ("Live — spoof score" in dom) or ("Attack — spoof score" in dom)
        assert "threshold" in dom and f"{detector.threshold:.4f}" in dom and "server time" in dom
        shot = Path(os.environ.get("STASN_PAGE_SCREENSHOT", tmp_path / "page.png"))
        subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
        image = cv2.imread(str(shot))
        assert image is not None and image.shape[:2] == (760, 1100)
        assert float(image.std()) > 10  # a rendered page, not a blank one
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
    finally:
        server.should_exit = True
        thread.join(15)
