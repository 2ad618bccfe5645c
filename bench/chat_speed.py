"""LLM speed: plain llama-cpp-python ``Llama.create_chat_completion`` vs modelbay's llama.cpp runtime.

Same GGUF file, same prompts, same thread count, each side in its own process. For each model:

* single stream, greedy, ``--tokens`` new tokens: tokens/s (prompt read included, as a client sees it);
* ``--streams`` concurrent conversations: aggregate tokens/s. The baseline runs them one after
  another (one ``Llama`` object is not thread-safe: that is what a server built on it does);
  modelbay's run them at once in threads (continuous batching). Before each request both sides drop
  what earlier requests left in the KV cache; within the concurrent run modelbay's engine reads the
  prompts' common start (the chat template's default system prompt) once and copies it;
* time to first token, p50 over the short prompts, single stream;
* prefill tokens/s on a ~600-token prompt (three passages of context; 1 new token);
* time to first token of a conversation's next turn after that prompt, where each side may reuse
  what it already read (llama-cpp-python's ``Llama`` keeps the longest shared prefix; so does
  modelbay's engine). Everywhere else each side reads every prompt whole.

The baseline side could share a prompt start only between requests it runs one after another, and
its reset before each request (to time whole prompts) rules that out; a server built on it would keep
the last prompt's prefix, which saves the 8 requests at most the same common start.

Best of ``--repeats`` alternating runs for each figure, so a burst of load on a shared machine
hurts both sides alike. Each side runs in a process of its own, as it would in production: llama.cpp
synchronises its threads with OpenMP barriers, and libgomp stops spinning at them (a ~40% slower
decode) once a process holds more OpenMP pool threads than cores, which two llama.cpp callers in one
process would do to each other.

    python bench/chat_speed.py [--models smollm2-135m-instruct qwen2.5-coder-0.5b-instruct] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

PROMPTS = ["Write a short story about a lighthouse keeper.", "Explain how a bicycle works, step by step.",
           "Describe the sea to someone who has never seen it.", "Write a letter to a customer about a late order.",
           "List ten things to pack for a camping trip, with reasons.", "Explain what a database index is.",
           "Tell me about the history of tea.", "Write a poem about autumn in a city."]


def context_passages(count_tokens, target_tokens: int = 600) -> str:
    """Three passages of real prose from the Python standard library's docs (argparse, json, logging)."""
    import argparse as a
    import json as j
    import logging as lg

    text = "\n\n".join(f"Passage {i + 1}:\n{(m.__doc__ or '').strip()}" for i, m in enumerate((a, j, lg)))
    while count_tokens(text) > target_tokens:
        text = text[: int(len(text) * 0.95)]
    return text


def _messages(prompt) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt


def run_baseline(llama, prompt, tokens: int, stream: bool = False, keep: bool = False):
    if not keep:
        llama.reset()  # no reuse of the previous prompt's KV cache: both sides read every prompt
    messages = _messages(prompt)
    start = time.perf_counter()
    if stream:
        for chunk in llama.create_chat_completion(messages, max_tokens=tokens, temperature=0.0, stream=True):
            if chunk["choices"][0]["delta"].get("content"):
                return time.perf_counter() - start
    out = llama.create_chat_completion(messages, max_tokens=tokens, temperature=0.0, repeat_penalty=1.0)
    return out["usage"]["completion_tokens"], out["usage"]["prompt_tokens"], time.perf_counter() - start


def run_ours(llm, prompt, tokens: int, stream: bool = False, keep: bool = False):
    from modelbay.ml.llm import GenerationSettings

    if not keep:
        llm.drop_kept()  # read every prompt whole, as the baseline does after reset()
    settings = GenerationSettings(max_new_tokens=tokens, temperature=0.0, repetition_penalty=1.0)
    messages = _messages(prompt)
    start = time.perf_counter()
    if stream:
        for piece, _ in llm.stream(messages, settings):
            if piece:
                return time.perf_counter() - start
    out = llm.complete(messages, settings)
    return out.completion_tokens, out.prompt_tokens, time.perf_counter() - start


def concurrent(fn, prompts: list[str], tokens: int, parallel: bool) -> float:
    results: list = [None] * len(prompts)

    def one(i):
        results[i] = fn(prompts[i], tokens)

    start = time.perf_counter()
    if parallel:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(prompts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for i in range(len(prompts)):
            one(i)
    return sum(r[0] for r in results) / (time.perf_counter() - start)


def measure_side(name: str, side: str, args) -> dict[str, float]:
    """One side's figures for one model, in this process."""
    from modelbay.core.catalog import resolve

    resolved = resolve(name)
    if side == "llama-cpp-python":
        from llama_cpp import Llama

        gguf = str(resolved.file(resolved.spec.options["gguf_file"]))
        model = Llama(model_path=gguf, n_ctx=4096, n_batch=512, n_threads=args.threads,
                      n_threads_batch=args.threads, verbose=False)
        call = lambda p, n, stream=False, keep=False: run_baseline(model, p, n, stream, keep)
        count = lambda text: len(model.tokenize(text.encode()))
    else:
        from modelbay.ml.llm.llamacpp_runtime import load_llamacpp_lm

        model = load_llamacpp_lm(resolved)
        call = lambda p, n, stream=False, keep=False: run_ours(model, p, n, stream, keep)
        count = lambda text: model.count_tokens([{"role": "user", "content": text}])
    context = context_passages(count) + "\n\nSummarise the three passages in one sentence."
    prompts = (PROMPTS * args.streams)[: args.streams]
    got: dict[str, float] = {}
    call(PROMPTS[1], 4)  # warm-up: first-call allocations are not decoding speed
    new, _, seconds = call(PROMPTS[0], args.tokens)
    got["single tok/s"] = new / seconds
    got[f"{args.streams} streams tok/s"] = concurrent(call, prompts, args.tokens, parallel=side == "modelbay")
    got["TTFT p50 s"] = statistics.median(call(p, args.tokens, True) for p in PROMPTS[:5])
    _, prompt_tokens, seconds = call(context, 1)
    got["prefill tok/s"] = prompt_tokens / seconds
    got["prefill prompt tokens"] = prompt_tokens
    # a conversation's next turn: both sides may reuse the KV cache of what they read before
    turn = [{"role": "user", "content": context}, {"role": "assistant", "content": "The passages describe three "
             "Python modules."}, {"role": "user", "content": "Which one would I use to write log files?"}]
    call(turn[:1], 1)
    got["next-turn TTFT s"] = call(turn, args.tokens, True, keep=True)
    model.close()
    return got


def measure(name: str, args) -> dict:
    """Both sides, ``--repeats`` times alternating, each run in a fresh process; the best of each figure."""
    import json
    import subprocess

    best: dict[str, dict[str, float]] = {"llama-cpp-python": {}, "modelbay": {}}
    for _ in range(args.repeats):
        for side, figures in best.items():
            command = [sys.executable, __file__, "--side", side, "--models", name, "--threads", str(args.threads),
                       "--tokens", str(args.tokens), "--streams", str(args.streams)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            got = json.loads(out.strip().splitlines()[-1])
            for key, value in got.items():
                keep = min if "TTFT" in key else max
                figures[key] = keep(figures.get(key, value), value)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--side", choices=["llama-cpp-python", "modelbay"], help=argparse.SUPPRESS)  # child run
    args = parser.parse_args()
    os.environ["MODELBAY_NUM_THREADS"] = str(args.threads)
    if args.side:
        import json

        print(json.dumps(measure_side(args.models[0], args.side, args)))
        return
    print(f"threads {args.threads}, {args.tokens} new tokens, greedy, {args.streams} streams, "
          f"best of {args.repeats}; cpu_count {os.cpu_count()}", flush=True)
    for name in args.models:
        best = measure(name, args)
        base, ours = best["llama-cpp-python"], best["modelbay"]
        print(f"\n{name}")
        print(f"  {'':28s} {'llama-cpp-python':>17s} {'modelbay':>10s} {'ratio':>7s}")
        for key in base:
            ratio = ours[key] / base[key] if base[key] else float("nan")
            print(f"  {key:28s} {base[key]:17.2f} {ours[key]:10.2f} {ratio:7.2f}")
        single = ours["single tok/s"]
        print(f"  modelbay {args.streams} streams / single stream: {ours[f'{args.streams} streams tok/s'] / single:.2f}x",
              flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
