"""Concurrent conversations on one llama.cpp model: continuous batching (the engine) against a fair queue.

The issue asks for "continuous batching or a fair queue — measure which is faster". On some CPUs a
decode step of two sequences costs more than two steps of one (``bench/llamacpp_step.py``: 17 ms for
one row, 41-43 ms for two on the AMD EPYC of session 13), so taking the conversations in turns, one
token each, could beat batching them when only a few run at once.

Both schedules run in the same process, on the same model and the same prompts, alternating, so a
burst of load on a shared machine hurts both alike:

* ``batching``: modelbay's engine as shipped (``llamacpp_engine.Engine``): every running sequence
  advances in each model call;
* ``fair queue``: the same engine, except that a step in which no prompt is being read feeds the
  token of one sequence only, taking the sequences in turn (round robin). Prompt reads, sampling,
  stop strings and KV streams are the engine's own, so the two differ only in how decode rows are
  grouped.

For each number of concurrent conversations (``--streams``) it prints the median aggregate tokens/s
of each schedule over ``--repeats`` runs and their ratio. Greedy, ``--tokens`` new tokens each, the
KV cache's kept prompts dropped before every run.

    python bench/llamacpp_fair_queue.py [--model qwen2.5-coder-0.5b-instruct] [--streams 2 4] [--repeats 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

PROMPTS = ["Write a short story about a lighthouse keeper.", "Explain how a bicycle works, step by step.",
           "Describe the sea to someone who has never seen it.", "Write a letter to a customer about a late order.",
           "List ten things to pack for a camping trip, with reasons.", "Explain what a database index is.",
           "Tell me about the history of tea.", "Write a poem about autumn in a city."]


def fair_queue_engine():
    """The engine class with a switch, ``fair``: round-robin decode steps (one sequence's token a step while none
    reads a prompt) instead of batching. One engine for both schedules: a second worker thread calling into
    llama.cpp would give libgomp a second thread pool and slow both (``llamacpp_engine``'s docstring)."""
    from modelbay.ml.llm.llamacpp_engine import Engine

    class FairQueueEngine(Engine):
        fair = False  # False: the shipped engine's step, unchanged
        turn = 0

        def _step(self) -> None:
            decoding = [seq for seq in self.running if seq.pending is not None]
            reading = any(seq.pending is None and seq.read < len(seq.prompt_ids) for seq in self.running)
            if not self.fair or len(decoding) < 2 or reading:  # a prompt read carries the decode rows along
                return super()._step()
            self.turn += 1
            seq = decoding[self.turn % len(decoding)]
            position = len(seq.prompt_ids) + seq.completion_tokens - 1
            seq.fed.append(seq.pending)
            with self.native.lock:
                if self.native.decode([(seq.pending, position, seq.slot, True)]) != 0:
                    raise RuntimeError("llama_decode failed on a one-token step")
                row = self.native.logits(0)
            self._push(seq, seq.sampler.choose(row))

    return FairQueueEngine


def aggregate_tokens_per_second(llm, streams: int, tokens: int) -> float:
    """``streams`` conversations at once, in threads: new tokens of all of them per wall-clock second."""
    from modelbay.ml.llm.contract import GenerationSettings

    llm.drop_kept()
    made = [0] * streams

    def one(i: int) -> None:
        reply = llm.complete([{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                             GenerationSettings(max_new_tokens=tokens, temperature=0.0))
        made[i] = reply.completion_tokens

    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(made) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--streams", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args()
    os.environ["MODELBAY_NUM_THREADS"] = str(args.threads)

    from modelbay.core.catalog import resolve
    from modelbay.ml.llm.llamacpp_runtime import _prefill_chunk_tokens, load_llamacpp_lm

    llm = load_llamacpp_lm(resolve(args.model))
    llm._engine.stop()  # before it ever called llama.cpp: its replacement is the only thread that does
    engine = llm._engine = fair_queue_engine()(llm.native, _prefill_chunk_tokens)
    aggregate_tokens_per_second(llm, 1, 8)  # warm-up: first-call allocations are not decoding speed
    print(f"{args.model}, {args.threads} threads, {args.tokens} new tokens each, greedy, "
          f"median of {args.repeats} alternating runs; cpu_count {os.cpu_count()}")
    print(f"{'streams':>7}  {'batching tok/s':>14}  {'fair queue tok/s':>16}  {'fair / batching':>15}  runs (batching | fair)")
    for streams in args.streams:
        rates: dict[str, list[float]] = {"batching": [], "fair queue": []}
        for _ in range(args.repeats):
            for name, runs in rates.items():
                engine.fair = name == "fair queue"
                runs.append(aggregate_tokens_per_second(llm, streams, args.tokens))
        ours, theirs = statistics.median(rates["batching"]), statistics.median(rates["fair queue"])
        runs = " ".join(f"{r:.0f}" for r in rates["batching"]) + " | " + " ".join(f"{r:.0f}" for r in rates["fair queue"])
        print(f"{streams:>7}  {ours:14.1f}  {theirs:16.1f}  {theirs / ours:15.2f}  {runs}", flush=True)
    llm.close()


if __name__ == "__main__":
    main()
