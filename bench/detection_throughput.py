"""object-detection speed: images/s at batch 1 and 8, and peak memory, against plain onnxruntime.

The baseline is the least anyone could run: the same converted ONNX file in a bare onnxruntime
session (same thread count), fed the same photos resized with PIL, its raw output left undecoded.
Ours is the full task: decode the image bytes, resize, run, decode boxes, score threshold, class
filter, per-class NMS, pydantic outputs. Speed: both in one process, in alternating rounds (a shared,
busy machine then slows both alike). Peak memory: each side alone in a child process (load + 3 batches of 8).

    .venv/bin/python bench/detection_throughput.py [--model centernet-coco] [--threads 2] [--rounds 10]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time


def photos(n: int) -> list[bytes]:
    from PIL import Image
    from skimage import data

    arrays = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(arrays[i % len(arrays)]).convert("RGB").save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def seconds_for(fn, images: list[bytes]) -> float:
    t0 = time.perf_counter()
    fn(images)
    return time.perf_counter() - t0


def ours(model: str, threads: int):
    from modelbay.core.catalog import resolve
    from modelbay.core.loading import load_task
    from modelbay.core.registry import get_task

    resolve(model).spec.options["threads"] = threads
    task, cls = load_task("object-detection", model), get_task("object-detection")
    return lambda images: task([cls.coerce({"image": b}) for b in images])


def baseline(model: str, threads: int):
    import numpy as np
    import onnxruntime as ort
    from PIL import Image

    from modelbay.core.catalog import resolve

    found = resolve(model)
    opts = found.spec.options
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    session = ort.InferenceSession(str(found.file(opts["onnx"])), so, providers=["CPUExecutionProvider"])
    name, size = session.get_inputs()[0].name, int(opts["input_size"])
    nchw = opts["backend"] == "nanodet"

    def run(images):
        for data in images:
            a = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((size, size)), dtype=np.float32)[None]
            session.run(None, {name: a.transpose(0, 3, 1, 2).copy() if nchw else a})
    return run


def memory_child(side: str, model: str, threads: int) -> None:
    fn = (ours if side == "ours" else baseline)(model, threads)
    for _ in range(3):
        fn(photos(8))
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork+exec, so a child would report its parent's peak
    with open("/proc/self/status") as fh:
        hwm_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print(json.dumps({"peak_rss_mb": round(hwm_kb / 1024, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="centernet-coco")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--memory-child", default=None)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child, args.model, args.threads)
    sides = {"baseline": baseline(args.model, args.threads), "ours": ours(args.model, args.threads)}
    spent = {(side, b): 0.0 for side in sides for b in (1, 8)}
    for b in (1, 8):
        for fn in sides.values():
            fn(photos(b))  # warm-up
    for _ in range(args.rounds):
        for b in (1, 8):
            for side, fn in sides.items():
                spent[side, b] += seconds_for(fn, photos(b))
    rate = {k: args.rounds * k[1] / v for k, v in spent.items()}
    for side in sides:
        out = subprocess.run([sys.executable, __file__, "--memory-child", side, "--model", args.model, "--threads",
                              str(args.threads)], capture_output=True, text=True, check=True)
        rss = json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]
        print(f"{side:9s} {args.model} threads={args.threads}: batch1 {rate[side, 1]:.2f} img/s, "
              f"batch8 {rate[side, 8]:.2f} img/s, peak RSS {rss} MB")
    for b in (1, 8):
        print(f"batch{b}: ours/baseline images/s = {rate['ours', b] / rate['baseline', b]:.2f}")
    print(f"load average while measured: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
