"""The batching ceiling of llama.cpp's CPU kernels on this machine, with no engine in the way.

One ``NativeModel`` (the context modelbay's engine runs on), ``--streams`` KV streams each holding the same
short prompt, then steps of one new token for 1, 2, 4, ... ``--streams`` sequences at once (ids 0..n-1,
consecutive, so llama.cpp runs each step as one pass). For each batch size it prints the median step time
and what ``n`` sequences in such steps would give over one sequence's step, tokens per second:
``n * t(1) / t(n)``. That ratio is the most continuous batching can reach for decoding on this CPU; the
engine's own figure (``bench/chat_speed.py``) also pays for reading prompts.

    python bench/llamacpp_step.py [--model qwen2.5-coder-0.5b-instruct] [--threads 2] [--steps 12]
"""

from __future__ import annotations

import argparse
import statistics
import time


def step_times(native, streams: int, steps: int) -> dict[int, float]:
    """Median seconds of one decode step for each batch size 1, 2, 4, ... ``streams``."""
    prompt = native.tokenize("Write a short story about a lighthouse keeper and the sea.")
    for seq in range(streams):
        code = native.decode([(token, i, seq, i == len(prompt) - 1) for i, token in enumerate(prompt)])
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code} reading the prompt of sequence {seq}")
    position = [len(prompt)] * streams
    sizes = [1]
    while sizes[-1] < streams:
        sizes.append(min(2 * sizes[-1], streams))
    medians = {}
    for rows in sizes:
        seconds = []
        for step in range(steps):
            started = time.perf_counter()
            code = native.decode([(100 + step, position[seq], seq, True) for seq in range(rows)])
            seconds.append(time.perf_counter() - started)
            if code != 0:
                raise RuntimeError(f"llama_decode returned {code} on a step of {rows} sequences")
            for seq in range(rows):
                position[seq] += 1
        medians[rows] = statistics.median(seconds)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()

    from modelbay.core.catalog import resolve
    from modelbay.ml.llm.llamacpp_native import NativeModel

    resolved = resolve(args.model)
    native = NativeModel(resolved.file(resolved.spec.options["gguf_file"]), context_tokens=1024,
                         sequences=args.streams, batch_tokens=512, threads=args.threads)
    # llama_cpp only through NativeModel: it sets libgomp's spinning before llama.cpp links it (core.loading)
    print(native.lib.llama_print_system_info().decode(errors="replace"))
    medians = step_times(native, args.streams, args.steps)
    one = medians[1]
    print(f"{'sequences':>9}  {'step, ms':>8}  {'x one sequence':>14}  {'tokens/s vs one':>15}")
    for rows, seconds in medians.items():
        print(f"{rows:>9}  {seconds * 1000:8.1f}  {seconds / one:14.2f}  {rows * one / seconds:15.2f}")
    native.close()


if __name__ == "__main__":
    main()
