"""Serving under load: modelbay (batching on / off) vs a plain FastAPI endpoint, same models, same machine.

For each server and each task (embeddings with MiniLM, sentiment), closed-loop
clients at concurrency 1, 8 and 32 each send one-text requests for ``--seconds``;
we report requests/s and p50/p99 latency, the ratio to the plain baseline, and
the same model's in-process batch-32 throughput (the practical ceiling).
The load generator is a separate process on the same 2 cores (it costs some CPU).

    python bench/serve_load.py --seconds 30          # the issue's setting
    python bench/serve_load.py --seconds 10          # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import MODELBAY, free_port, machine, save

SENTENCES = [
    "my card was charged twice for the same order", "the parcel arrived two days late and the box was crushed",
    "thanks, the support agent fixed my login problem quickly", "how do I change the delivery address?",
    "the app keeps crashing when I open my invoices", "great service, I will order again",
    "I want a refund for the broken headphones", "can you tell me when my subscription renews?",
]


def start(cmd: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd} exited")
        time.sleep(0.2)
    raise RuntimeError(f"{cmd} not ready")


async def load(url: str, concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        n = i
        while time.perf_counter() < stop_at:
            body = {"inputs": [SENTENCES[n % len(SENTENCES)] + f" #{n}"]}
            n += concurrency
            t = time.perf_counter()
            r = await http.post(url, json=body)
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await http.post(url, json={"inputs": ["warm up"]})
        begin = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(concurrency)))
        elapsed = time.perf_counter() - begin
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], "errors": errors}


def in_process_ceiling(task: str, seconds: float) -> float:
    from modelbay.core.loading import load_task

    t = load_task(task)
    items = [t.coerce(s) for s in (SENTENCES * 4)[:32]]
    t(items)
    done, begin = 0, time.perf_counter()
    while time.perf_counter() - begin < seconds:
        done += len(t(items))
    return done / (time.perf_counter() - begin)


def server_overhead(seconds: float) -> dict:
    """p50 of a no-op task through modelbay's full stack vs a bare FastAPI endpoint, one caller."""
    out = {}
    noop = str(Path(__file__).with_name("noop_server.py"))
    for name, extra in (("plain FastAPI", ["--plain"]), ("modelbay", [])):
        port = free_port()
        proc = start([sys.executable, noop, str(port), *extra], port)
        try:
            out[name] = asyncio.run(load(f"http://127.0.0.1:{port}/v1/tasks/noop", 1, seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(f"no-op task, 1 caller, {name:14s}: p50 {out[name]['p50_ms']:.2f} ms  p99 {out[name]['p99_ms']:.2f} ms")
    print(f"server overhead (modelbay - plain, p50): {out['modelbay']['p50_ms'] - out['plain FastAPI']['p50_ms']:+.2f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    parser.add_argument("--tasks", nargs="*", default=["embeddings", "sentiment"])
    parser.add_argument("--noop-only", action="store_true", help="only the server-overhead measurement")
    args = parser.parse_args()
    print(f"machine: {machine()}; {args.seconds:g} s per cell")
    results: dict = {"machine": machine(), "seconds": args.seconds, "servers": {}, "ceiling_rps": {}}
    results["noop"] = server_overhead(args.seconds)
    if args.noop_only:
        save("serve_load_noop", results)
        return
    servers = {
        "plain FastAPI": lambda port: [sys.executable, str(Path(__file__).with_name("plain_server.py")), str(port)],
        "modelbay, batching off": lambda port: [MODELBAY, "serve", "--port", str(port), "--no-batching",
                                                "--preload", "embeddings", "--preload", "sentiment", "--log-level", "warning"],
        "modelbay, batching on": lambda port: [MODELBAY, "serve", "--port", str(port),
                                               "--preload", "embeddings", "--preload", "sentiment", "--log-level", "warning"],
    }
    for name, cmd in servers.items():
        port = free_port()
        proc = start(cmd(port), port)
        try:
            for task in args.tasks:
                for c in args.concurrency:
                    r = asyncio.run(load(f"http://127.0.0.1:{port}/v1/tasks/{task}", c, args.seconds))
                    results["servers"].setdefault(name, {}).setdefault(task, {})[c] = r
                    print(f"{name:24s} {task:11s} c={c:<3d} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms"
                          f"  p99 {r['p99_ms']:7.1f} ms  errors {r['errors']}", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    for task in args.tasks:
        results["ceiling_rps"][task] = in_process_ceiling(task, min(args.seconds, 10))
    print("\nratios (modelbay batching on vs plain FastAPI; vs in-process batch-32 ceiling):")
    for task in args.tasks:
        plain, on = results["servers"]["plain FastAPI"][task], results["servers"]["modelbay, batching on"][task]
        ceiling = results["ceiling_rps"][task]
        for c in args.concurrency:
            print(f"  {task:11s} c={c:<3d} throughput {on[c]['rps'] / plain[c]['rps']:5.2f}x plain, "
                  f"{on[c]['rps'] / ceiling:5.0%} of ceiling ({ceiling:.0f}/s); "
                  f"p50 {on[c]['p50_ms'] / plain[c]['p50_ms'] - 1:+.0%} vs plain")
    save("serve_load", json.loads(json.dumps(results)))


if __name__ == "__main__":
    main()
