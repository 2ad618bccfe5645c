"""A real ``modelbay serve`` under 32 concurrent clients: recommend p50/p99 and events/s (bench/recommend_latency.py --server)."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

CONCURRENCY = 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _drive(base: str, seconds: float, body_of, path: str) -> tuple[list[float], int, int]:
    import httpx

    samples: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        async def worker(w: int) -> None:
            nonlocal errors
            rng = random.Random(w)
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                reply = await client.post(path, json=body_of(rng))
                if reply.status_code == 200:
                    samples.append(time.perf_counter() - t)
                else:
                    errors += 1
        await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))
    return samples, errors, len(samples)


def server_load(home: str, seconds: float) -> None:
    import httpx

    port = _free_port()
    env = {**os.environ, "MODELBAY_HOME": home, "MODELBAY_EVENTS_URL": f"sqlite:///{Path(home) / 'load-events.db'}"}
    cmd = [str(Path(sys.executable).with_name("modelbay")), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--preload", "recommendation", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        recommend = asyncio.run(_drive(base, seconds, lambda r: {"inputs": {"user_id": str(r.randint(1, 671)), "k": 10}},
                                       "/v1/tasks/recommendation"))
        samples, errors, n = recommend
        ordered = sorted(samples)
        p50, p99 = ordered[n // 2] * 1e3, ordered[min(n - 1, int(n * 0.99))] * 1e3
        print(f"server, c={CONCURRENCY}, POST /v1/tasks/recommendation: {n / seconds:.0f} req/s, "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {errors} errors")
        events = asyncio.run(_drive(base, seconds, lambda r: {"events": [
            {"user_id": f"u{r.randint(1, 5000)}", "item_id": str(r.randint(1, 9000)), "event": "view"} for _ in range(100)]},
            "/v1/events"))
        samples, errors, n = events
        ordered = sorted(samples)
        print(f"server, c={CONCURRENCY}, POST /v1/events (100 per request): {100 * n / seconds:.0f} events/s, "
              f"p50 {ordered[n // 2] * 1e3:.1f} ms, p99 {ordered[min(n - 1, int(n * 0.99))] * 1e3:.1f} ms, {errors} errors")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
