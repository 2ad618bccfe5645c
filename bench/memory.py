"""Peak memory (RSS) with every default model loaded in one process.

Baseline in the same run: the interpreter with modelbay and torch imported and no
model loaded. Each model's increment is printed as it loads.

    python bench/memory.py
"""

from __future__ import annotations

import resource
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import machine, save


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    import torch  # noqa: F401  (part of the baseline: every torch-based model needs it)

    from modelbay.core.loading import load_task
    from modelbay.core.registry import all_tasks

    print(f"machine: {machine()}")
    baseline = rss_mb()
    print(f"baseline (python + modelbay + torch imported): {baseline:8.0f} MB")
    results = {"machine": machine(), "baseline_mb": baseline, "models": {}}
    loaded = []
    for cls in all_tasks():
        before = rss_mb()
        task = load_task(cls.name)
        task([cls.coerce(cls.examples()[0])])  # first forward allocates work buffers
        loaded.append(task)
        delta = rss_mb() - before
        results["models"][cls.name] = {"model": task.model.spec.name, "delta_mb": delta}
        print(f"  + {cls.name:22s} {task.model.spec.name:24s} {delta:8.0f} MB")
    total, peak = rss_mb(), peak_mb()
    print(f"all default models loaded: RSS {total:.0f} MB, peak {peak:.0f} MB ({total / baseline:.1f}x the baseline)")
    results.update(total_mb=total, peak_mb=peak)
    save("memory", results)


if __name__ == "__main__":
    main()
