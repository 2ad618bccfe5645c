"""In-process throughput per task at batch 1 and batch 32, default models, this machine.

The baseline is batch 1 (one call per item, what a naive loop does); the ratio
is what batching buys. For tasks whose outputs carry ``duration_s`` (audio) the
real-time factor is printed too (audio seconds processed per wall second).

    python bench/throughput.py [--tasks sentiment embeddings] [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import machine, save


def measure(task, items, batch_size: int, seconds: float) -> tuple[float, float]:
    """Items per second and audio seconds per second over at least ``seconds`` (and one full pass)."""
    done, audio_s, start = 0, 0.0, time.perf_counter()
    while True:
        for i in range(0, len(items), batch_size):
            outputs = task(items[i : i + batch_size])
            done += len(outputs)
            audio_s += sum(getattr(o, "duration_s", 0.0) or 0.0 for o in outputs)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, audio_s / elapsed


def main() -> None:
    from modelbay.core.loading import load_task
    from modelbay.core.registry import all_tasks

    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", nargs="*", help="task names (default: all)")
    parser.add_argument("--seconds", type=float, default=8.0, help="minimum seconds per measurement")
    parser.add_argument("--audio-dir", help="real speech (*.wav) for audio tasks instead of their synthetic examples;"
                        " default: the LibriVox clips the speech tests fetch, if present")
    args = parser.parse_args()
    from pathlib import Path

    from modelbay.core.settings import get_settings

    audio_dir = Path(args.audio_dir) if args.audio_dir else get_settings().home / "data" / "pocketsphinx-5.1.1-librivox"
    audio_files = sorted(audio_dir.glob("*.wav"))
    print(f"machine: {machine()}; audio: {len(audio_files)} files from {audio_dir}" if audio_files else f"machine: {machine()}")
    print(f"{'task':22s} {'model':24s} {'batch 1/s':>10s} {'batch 32/s':>11s} {'ratio':>6s}  audio RTF (b1, b32)")
    results = {"machine": machine(), "tasks": {}}
    for cls in all_tasks():
        if args.tasks and cls.name not in args.tasks:
            continue
        task = load_task(cls.name)
        examples = [cls.coerce(e) for e in cls.examples()]
        audio_field = next((f for f, kind in cls.media_fields.items() if kind == "audio"), None)
        if audio_field and audio_files:
            examples = [cls.coerce({audio_field: p.read_bytes()}) for p in audio_files]
        items = (examples * (32 // len(examples) + 1))[:32]
        task(items[:2])  # warm-up
        one, audio_one = measure(task, items, 1, args.seconds)
        many, audio_many = measure(task, items, 32, args.seconds)
        rtf = f"{audio_one:.1f}x, {audio_many:.1f}x" if audio_one else ""
        print(f"{cls.name:22s} {task.model.spec.name:24s} {one:10.1f} {many:11.1f} {many / one:6.2f}  {rtf}")
        results["tasks"][cls.name] = {"model": task.model.spec.name, "batch1_per_s": one, "batch32_per_s": many,
                                      "ratio": many / one, "audio_rtf_batch1": audio_one, "audio_rtf_batch32": audio_many}
        del task
    save("throughput", results)


if __name__ == "__main__":
    main()
