"""Helpers shared by the benchmark scripts (not a test: they print numbers, they never assert)."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MODELBAY = str(Path(sys.executable).with_name("modelbay"))


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median_time(cmd: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Server:
    """`modelbay serve` as a subprocess; ``ready_s`` is the time from spawn until /readyz answers 200."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        start = time.perf_counter()
        self.proc = subprocess.Popen([MODELBAY, "serve", "--port", str(self.port), "--log-level", "warning", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("server exited before it was ready")
            time.sleep(0.05)
        self.ready_s = time.perf_counter() - start

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def save(name: str, data: dict) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
