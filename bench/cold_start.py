"""Cold start: `modelbay --help`, time until /readyz, first-request latency per task.

Baselines measured in the same run: a bare `python -c pass` and `python -c "import torch"`
(what a CLI that imports torch eagerly would pay before doing anything).

    python bench/cold_start.py
"""

from __future__ import annotations

import sys
import time

import httpx

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import MODELBAY, Server, machine, median_time, save


def main() -> None:
    from modelbay.core.registry import all_tasks

    print(f"machine: {machine()}")
    bare = median_time([sys.executable, "-c", "pass"])
    torch_import = median_time([sys.executable, "-c", "import torch"])
    import_s = median_time([sys.executable, "-c", "import modelbay"])
    help_s = median_time([MODELBAY, "--help"])
    print(f"python -c pass           {bare * 1000:7.0f} ms")
    print(f"python -c 'import torch' {torch_import * 1000:7.0f} ms   (baseline: a CLI that imports torch first)")
    print(f"python -c 'import modelbay' {import_s * 1000:4.0f} ms")
    print(f"modelbay --help          {help_s * 1000:7.0f} ms   ratio vs import torch: {help_s / torch_import:.2f}x")

    results = {"machine": machine(), "python_pass_s": bare, "import_torch_s": torch_import,
               "import_modelbay_s": import_s, "help_s": help_s}
    server = Server("--preload", "all")  # what `make run` does
    print(f"serve --preload all (every default model, as `make run`): ready in {server.ready_s:.2f} s")
    results["ready_with_defaults_s"] = server.ready_s
    server.close()

    server = Server()  # nothing preloaded: the first request to each task pays its model load
    print(f"serve with nothing preloaded: ready in {server.ready_s:.2f} s")
    results["ready_bare_s"] = server.ready_s
    first, second = {}, {}
    for cls in all_tasks():
        body = {"inputs": [_jsonable(cls, cls.examples()[0])]}
        for store in (first, second):
            start = time.perf_counter()
            r = httpx.post(f"{server.base}/v1/tasks/{cls.name}", json=body, timeout=600)
            store[cls.name] = time.perf_counter() - start
            if r.status_code != 200:
                store[cls.name] = float("nan")
                print(f"  {cls.name}: HTTP {r.status_code} {r.text[:200]}")
        print(f"  {cls.name:22s} first request {first[cls.name]:7.2f} s   second {second[cls.name] * 1000:8.1f} ms")
    server.close()
    results["first_request_s"] = first
    results["second_request_s"] = second
    save("cold_start", results)


def _jsonable(cls, example):
    import base64

    if isinstance(example, dict):
        return {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in example.items()}
    return base64.b64encode(example).decode() if isinstance(example, bytes) else example


if __name__ == "__main__":
    main()
