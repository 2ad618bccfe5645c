"""Chat on the transformers runtime (SmolLM2-135M-Instruct): load times, and decoding speed against ``generate``.

(For the llama.cpp runtime against plain llama-cpp-python, see ``bench/chat_speed.py``.)

* first load (GGUF dequantised and converted; a temporary MODELBAY_HOME) vs a
  load from the cached safetensors copy;
* tokens/s at batch 1: ``model.generate`` (the baseline) vs modelbay's loop, same
  greedy settings, same prompts;
* tokens/s of modelbay's batched decoding (one ``task(items)`` call) vs batch 1.

    python bench/chat.py [--threads 1] [--tokens 32] [--batch 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

PROMPTS = ["Write a one-line apology for a late delivery", "What is the capital of France?",
           "Name three colours.", "Say hello politely.", "Give me a tip for writing emails.",
           "What is a good name for a cat?", "Describe the sea in one sentence.", "How do I boil an egg?"]

MODEL = "smollm2-135m-instruct"
LOAD = ("import time,torch;t=time.perf_counter();from modelbay.core.catalog import resolve;"
        "from modelbay.ml.llm.transformers_runtime import load_transformers_lm;"
        f"load_transformers_lm(resolve('{MODEL}'));print(time.perf_counter()-t)")


def load_seconds(home: str, threads: int) -> float:
    env = {**os.environ, "MODELBAY_HOME": home, "MODELBAY_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", LOAD], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--tokens", type=int, default=32, help="max_new_tokens per prompt")
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as home:
        first = load_seconds(home, threads)
        cached = load_seconds(home, threads)
    print(f"load: first (converts) {first:.1f} s, cached {cached:.1f} s, ratio {first / cached:.1f}x")

    from modelbay.core.loading import load_task

    os.environ["MODELBAY_LLM_RUNTIME"] = "transformers"
    task = load_task("chat", MODEL)
    torch.set_num_threads(threads)
    prompts = (PROMPTS * ((args.batch + len(PROMPTS) - 1) // len(PROMPTS)))[: args.batch]
    items = [task.coerce({"prompt": p, "temperature": 0, "max_new_tokens": args.tokens}) for p in prompts]
    task(items[:1])  # warm-up

    start, done = time.perf_counter(), 0
    with torch.inference_mode():
        for item in items:
            ids = torch.tensor([task.llm.prompt_tokens(item.conversation())])
            out = task.llm.lm.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                       max_new_tokens=item.max_new_tokens, do_sample=False,
                                       repetition_penalty=item.repetition_penalty)
            done += out.shape[1] - ids.shape[1]
    baseline = done / (time.perf_counter() - start)

    start = time.perf_counter()
    done = sum(task([item])[0].usage.completion_tokens for item in items)
    ours_1 = done / (time.perf_counter() - start)

    start = time.perf_counter()
    done = sum(o.usage.completion_tokens for o in task(items))
    ours_n = done / (time.perf_counter() - start)
    print(f"threads {threads}, {len(items)} prompts, max_new_tokens {args.tokens}, greedy")
    print(f"batch 1: generate() {baseline:.1f} tok/s, modelbay {ours_1:.1f} tok/s, ratio {ours_1 / baseline:.2f}")
    print(f"batch {len(items)}: modelbay {ours_n:.1f} tok/s, ratio to batch 1 {ours_n / ours_1:.2f}")


if __name__ == "__main__":
    main()
