"""``stasn serve`` under load: 16, 64 and 200 concurrent clients, with and without micro-batching.

Starts the real service (``stasn serve``, a subprocess bound to 127.0.0.1 only) once per ``--max-batch`` setting and
drives it from this process: each client holds its own connection and uploads a still image (256x256 JPEG, the
``whole`` detector: the benchmark measures the service and the model, not face detection), back to back for
``--seconds``; a client answered 503 waits the ``Retry-After`` it was given, as a well-behaved client does. Every
loop is bounded in time and the whole run takes about 2-3 minutes.

Columns: answers by status (``err`` = connection errors or timeouts), latency percentiles of the 200 answers and the
median of the 503s as the clients saw them (how fast a refusal comes), images scored per second, the mean model batch
(from ``/healthz``), the slowest ``/healthz`` seen by a separate probe process polling it every 100 ms during the
level, and the server's RSS before the level and after it. The clients share the CPU with the server (2 cores here),
so at 64 and 200 clients their latencies include their own wait for the CPU; compare the rows with each other.

    python benchmarks/serve_load.py [--checkpoint best.ckpt] [--clients 16 64 200] [--seconds 10]
        [--max-batch 8 1] [--max-queue 8]

Without ``--checkpoint`` a random-weights checkpoint of ``configs/lite.yaml``'s model (``pretrained: null``) is
made in a temporary folder, as ``predict_latency.py`` does: timing does not depend on the weights.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # never anything else


def _lite_checkpoint(folder: Path) -> Path:
    import dataclasses

    import torch

    from stasn.data.manifest import CacheInfo
    from stasn.model import STASN
    from stasn.model.checkpoint import save_checkpoint
    from stasn.train.config import load_experiment

    torch.manual_seed(0)
    config = load_experiment([ROOT / "configs" / "_base.yaml", ROOT / "configs" / "lite.yaml"]).model
    config = dataclasses.replace(config, pretrained=None)
    info = CacheInfo(face_size=config.input_size, highres_size=config.highres_size)
    return save_checkpoint(folder / "lite.ckpt", STASN.from_config(config).eval(), config, info, threshold=0.5)


def _images(count: int = 8, size: int = 256) -> list[bytes]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(count):
        base = np.stack([0.5 + 0.3 * np.sin(4 * xx + c) * np.cos(3 * yy + c) for c in rng.uniform(0, 3, 3)], -1)
        pixels = (np.clip(base + rng.normal(0, 0.03, base.shape), 0, 1) * 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _start_server(checkpoint: Path, port: int, max_batch: int, max_queue: int) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from stasn.cli.main import app; app()", "serve", "--checkpoint", str(checkpoint)]
    cmd += ["--host", HOST, "--port", str(port), "--detector", "whole", "--device", "cpu"]
    cmd += ["--max-batch", str(max_batch), "--max-queue", str(max_queue)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start in 120 s")


async def _load(base: str, payloads: list[bytes], clients: int, seconds: float) -> list:
    """Per request: ``(status, seconds)``, or ``("err", seconds)`` for a connection error or timeout."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    end = time.monotonic() + seconds
    results: list = []

    async def client_loop(client: httpx.AsyncClient, i: int) -> None:
        rng = np.random.default_rng(i)
        n = 0
        while time.monotonic() < end:
            start = time.monotonic()
            try:
                files = {"file": ("face.jpg", payloads[(i + n) % len(payloads)], "image/jpeg")}
                response = await client.post("/v1/predict", files=files)
            except httpx.HTTPError:
                results.append(("err", time.monotonic() - start))
                await asyncio.sleep(0.5)
                continue
            results.append((response.status_code, time.monotonic() - start))
            n += 1
            if response.status_code == 503:  # wait as told, with jitter so that refused clients do not come back
                wait = float(response.headers.get("retry-after", "1"))  # all at the same moment
                await asyncio.sleep(wait * rng.uniform(0.5, 1.5))

    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        await asyncio.wait_for(asyncio.gather(*(client_loop(client, i) for i in range(clients))), seconds + 90)
    return results


# A separate process polls /healthz every 100 ms while a level runs (its own interpreter, so the load generator's
# event loop does not delay it) and prints the latencies in ms, one per line.
_PROBE = """
import sys, time, httpx
end = time.monotonic() + float(sys.argv[2])
with httpx.Client(base_url=sys.argv[1], timeout=30) as client:
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            ok = client.get("/healthz").status_code == 200
        except httpx.HTTPError:
            ok = False
        print(f"{1000 * (time.monotonic() - start):.1f}" if ok else "err", flush=True)
        time.sleep(0.1)
"""


def _start_probe(base: str, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _PROBE, base, str(seconds)], stdout=subprocess.PIPE, text=True)


def _probe_result(probe: subprocess.Popen) -> str:
    out, _ = probe.communicate(timeout=120)
    values = out.split()
    if not values:
        return "-"
    if "err" in values:
        return f"{values.count('err')} failed"
    return f"{max(float(v) for v in values):.0f}"


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _row(
    max_batch: int, clients: int, results: list, elapsed: float, batches: Counter, rss: tuple[float, float], probe: str
):
    counts = Counter(status for status, _ in results)
    ok = [s for status, s in results if status == 200]
    busy = [s for status, s in results if status == 503]
    calls = sum(batches.values())
    mean_batch = sum(size * n for size, n in batches.items()) / calls if calls else float("nan")
    other = sum(n for status, n in counts.items() if status not in (200, 503, "err"))
    return [
        str(max_batch),
        str(clients),
        str(len(results)),
        str(counts.get(200, 0)),
        str(counts.get(503, 0)),
        str(other),
        str(counts.get("err", 0)),
        f"{1000 * _percentile(ok, 50):.0f}",
        f"{1000 * _percentile(ok, 99):.0f}",
        f"{1000 * statistics.median(busy):.0f}" if busy else "-",
        f"{len(ok) / elapsed:.1f}",
        f"{mean_batch:.2f}",
        probe,
        f"{rss[0]:.0f} -> {rss[1]:.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="default: a random-weights lite checkpoint")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64, 200])
    parser.add_argument("--seconds", type=float, default=10.0, help="load per level")
    parser.add_argument("--max-batch", type=int, nargs="+", default=[8, 1])
    parser.add_argument("--max-queue", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the first level")
    args = parser.parse_args()

    payloads = _images()
    header = ["max_batch", "clients", "requests", "200", "503", "other", "err", "p50 ms", "p99 ms", "503 p50 ms"]
    header += ["images/s", "mean batch", "healthz max ms", "RSS MiB"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="stasn-serve-load-") as folder:
        checkpoint = args.checkpoint or _lite_checkpoint(Path(folder))
        for max_batch in args.max_batch:
            port = _free_port()
            server = _start_server(checkpoint, port, max_batch, args.max_queue)
            base = f"http://{HOST}:{port}"
            process = psutil.Process(server.pid)
            try:
                asyncio.run(_load(base, payloads, 4, args.warmup))  # warm-up: first calls allocate
                for clients in args.clients:
                    before_batches = Counter(httpx.get(f"{base}/healthz").json()["batches"])
                    rss_before = process.memory_info().rss / 2**20
                    probe = _start_probe(base, args.seconds)
                    start = time.monotonic()
                    results = asyncio.run(_load(base, payloads, clients, args.seconds))
                    elapsed = time.monotonic() - start
                    health = _probe_result(probe)
                    after = Counter(httpx.get(f"{base}/healthz").json()["batches"])
                    batches = Counter({int(k): v - before_batches.get(k, 0) for k, v in after.items()})
                    rss = (rss_before, process.memory_info().rss / 2**20)
                    rows.append(_row(max_batch, clients, results, elapsed, batches, rss, health))
                    print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
    print(f"checkpoint: {args.checkpoint or 'random-weights configs/lite.yaml model'}; max_queue {args.max_queue}; "
          f"{args.seconds:g} s per level; cores: {os.cpu_count()}")  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
