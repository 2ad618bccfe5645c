"""OpenAI-compatible routes in-process, on the real models: the same answers as /v1/tasks/*, OpenAI's shapes."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from test_speech_recognition import librivox_dir  # tests/integration is on sys.path (pytest's prepend import mode)

pytestmark = pytest.mark.models("chat", "embeddings", "speech-recognition")

CHAT = {"model": "smollm2-135m-instruct", "max_tokens": 12, "temperature": 0,
        "messages": [{"role": "user", "content": "What is the capital of France?"}]}


@pytest.fixture(scope="module")
def client(sentiment_app):
    return sentiment_app  # the shared in-process app: create_app(ServerConfig()), models load once per session


@pytest.fixture(scope="module")
def clip() -> tuple[bytes, str]:
    """The shortest LibriVox clip (about 3 s) and its transcript."""
    wav = min(librivox_dir().glob("*.wav"), key=lambda p: p.stat().st_size)
    return wav.read_bytes(), wav.with_suffix(".txt").read_text().strip()


def chat(client, **changes) -> dict:
    response = client.post("/v1/chat/completions", json={**CHAT, **changes})
    assert response.status_code == 200, response.text
    return response.json()


def stream_events(client, **changes) -> list:
    with client.stream("POST", "/v1/chat/completions", json={**CHAT, **changes, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line[6:]) for line in lines[:-1]]


def test_models_have_the_fields_openai_clients_read(client):
    data = client.get("/v1/models").json()["data"]
    assert {"smollm2-135m-instruct", "all-minilm-l6-v2", "whisper-base"} <= {m["id"] for m in data}
    assert all(m["object"] == "model" and isinstance(m["created"], int) and m["owned_by"] for m in data)


# -- embeddings ------------------------------------------------------------------------

def test_embeddings_equal_the_task_route_in_float_and_base64(client):
    texts = ["refund policy", "how do I get my money back", "退款政策"]
    expected = [o["embedding"] for o in client.post("/v1/tasks/embeddings", json={"inputs": texts}).json()["outputs"]]
    body = client.post("/v1/embeddings", json={"model": "all-minilm-l6-v2", "input": texts}).json()
    assert body["object"] == "list" and body["model"] == "all-minilm-l6-v2"
    assert [d["index"] for d in body["data"]] == [0, 1, 2] and all(d["object"] == "embedding" for d in body["data"])
    assert [d["embedding"] for d in body["data"]] == expected
    assert 0 < body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"]
    packed = client.post("/v1/embeddings", json={"input": texts, "encoding_format": "base64", "model": "default"}).json()
    decoded = [np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in packed["data"]]
    np.testing.assert_array_equal(np.stack(decoded), np.asarray(expected, dtype=np.float32))


def test_embeddings_single_string_and_dimensions(client):
    one = client.post("/v1/embeddings", json={"input": "refund policy", "dimensions": 384}).json()
    assert len(one["data"]) == 1 and len(one["data"][0]["embedding"]) == 384
    shorter = client.post("/v1/embeddings", json={"input": "refund policy", "dimensions": 128})
    assert shorter.status_code == 422 and "384" in shorter.json()["error"]["message"]


# -- chat ------------------------------------------------------------------------------

def test_chat_equals_the_chat_task_with_the_same_input(client):
    body = chat(client)
    task = client.post("/v1/tasks/chat", json={"model": CHAT["model"], "inputs": {
        "messages": CHAT["messages"], "max_new_tokens": 12, "temperature": 0}}).json()["outputs"][0]
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "smollm2-135m-instruct"
    (choice,) = body["choices"]
    assert choice["message"] == {"role": "assistant", "content": task["text"], "refusal": None}
    assert choice["finish_reason"] == task["finish_reason"]
    counts = ("prompt_tokens", "completion_tokens", "total_tokens")
    assert {k: body["usage"][k] for k in counts} == {k: task["usage"][k] for k in counts}
    # the task sent the prompt just read again: llama.cpp reuses the cells of all of it but the last token
    assert task["usage"]["cached_prompt_tokens"] == task["usage"]["prompt_tokens"] - 1
    assert 0 <= body["usage"]["prompt_tokens_details"]["cached_tokens"] < body["usage"]["prompt_tokens"]
    assert "Paris" in task["text"]


def test_stream_chunks_concatenate_to_the_non_stream_reply(client):
    whole = chat(client)
    events = stream_events(client, stream_options={"include_usage": True})
    assert all(e["object"] == "chat.completion.chunk" and e["id"] == events[0]["id"] for e in events)
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    *content, last, usage = events
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in content)
    assert text == whole["choices"][0]["message"]["content"]
    assert last["choices"][0] == {"index": 0, "delta": {}, "logprobs": None,
                                  "finish_reason": whole["choices"][0]["finish_reason"]}
    assert usage["choices"] == [] and usage["usage"] == {
        **whole["usage"], "prompt_tokens_details": {"cached_tokens": whole["usage"]["prompt_tokens"] - 1}}
    plain = stream_events(client)  # without include_usage: no usage chunk, no usage key
    assert plain[-1]["choices"][0]["finish_reason"] and all("usage" not in e for e in plain)


def test_n_choices_batch_and_a_seed_makes_them_reproducible(client):
    first = chat(client, n=2, temperature=0.9, seed=7)
    assert [c["index"] for c in first["choices"]] == [0, 1]
    singles = [chat(client, temperature=0.9, seed=s) for s in (7, 8)]  # choice i samples with seed + i
    assert [c["message"] for c in first["choices"]] == [s["choices"][0]["message"] for s in singles]
    assert first["usage"]["completion_tokens"] == sum(s["usage"]["completion_tokens"] for s in singles)
    greedy = chat(client, n=2)
    assert greedy["choices"][0]["message"] == greedy["choices"][1]["message"]


def test_stop_strings_and_length_finish(client):
    reply = chat(client)["choices"][0]["message"]["content"]
    cut = reply.index(" Paris")
    for stop in (" Paris", [" Paris", "zzz"]):
        stopped = chat(client, stop=stop)["choices"][0]
        assert stopped["message"]["content"] == reply[:cut] and stopped["finish_reason"] == "stop"
    short = chat(client, max_completion_tokens=2)
    assert short["choices"][0]["finish_reason"] == "length" and short["usage"]["completion_tokens"] == 2


def test_content_parts_developer_role_and_extra_client_fields(client):
    plain = chat(client)
    parts = chat(client, messages=[{"role": "user", "content": [{"type": "text", "text": CHAT["messages"][0]["content"]}]}],
                 user="u1", presence_penalty=0, frequency_penalty=0, logprobs=False, response_format={"type": "text"})
    assert parts["choices"] == plain["choices"]
    with_system = chat(client, messages=[{"role": "developer", "content": "Answer briefly."}, *CHAT["messages"]])
    as_system = chat(client, messages=[{"role": "system", "content": "Answer briefly."}, *CHAT["messages"]])
    assert with_system["choices"] == as_system["choices"]


@pytest.mark.parametrize(
    "route, body, status, needle",
    [
        ("/v1/chat/completions", {**CHAT, "messages": []}, 422, "messages"),
        ("/v1/chat/completions", {**CHAT, "model": "gpt-4o"}, 404, "smollm2-135m-instruct"),
        ("/v1/chat/completions", {**CHAT, "model": "whisper-base"}, 404, "'speech-recognition' model"),
        ("/v1/chat/completions", {**CHAT, "n": 2, "stream": True}, 422, "n:"),
        ("/v1/chat/completions", {**CHAT, "n": 9}, 422, "n:"),
        ("/v1/chat/completions", {**CHAT, "messages": [{"role": "tool", "content": "x"}]}, 422, "'tool'"),
        ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, 422, "only text parts"),
        ("/v1/chat/completions", {**CHAT, "stop": ""}, 422, "stop"),
        ("/v1/chat/completions", {**CHAT, "max_tokens": 0}, 422, "max_tokens"),
        ("/v1/chat/completions", {**CHAT, "logprobs": True}, 422, "logprobs"),
        ("/v1/embeddings", {"input": [[101, 2023]]}, 422, "token arrays"),
        ("/v1/embeddings", {"input": [1, 2]}, 422, "token arrays"),
        ("/v1/embeddings", {"input": []}, 422, "empty"),
        ("/v1/embeddings", {"input": ""}, 422, "input"),
        ("/v1/embeddings", {"input": "x", "model": "text-embedding-3-small"}, 404, "all-minilm-l6-v2"),
        ("/v1/embeddings", {"input": "x", "encoding_format": "int8"}, 422, "encoding_format"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(client, route, body, status, needle):
    response = client.post(route, json=body)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]["message"]


def test_stream_errors_before_the_first_token_are_plain_http_errors(client):
    too_long = {**CHAT, "stream": True, "messages": [{"role": "user", "content": "word " * 9000}]}
    response = client.post("/v1/chat/completions", json=too_long)
    assert response.status_code == 422 and "tokens" in response.json()["error"]["message"]


# -- transcription -----------------------------------------------------------------------

def transcribe(client, wav: bytes, **form) -> object:
    return client.post("/v1/audio/transcriptions", files={"file": ("clip.wav", wav, "audio/wav")},
                       data={"model": "whisper-base", "language": "en", **form})


def test_transcription_formats_agree(client, clip):
    wav, reference = clip
    as_json = transcribe(client, wav).json()
    words = re.sub(r"[^a-z ]", "", as_json["text"].lower().replace("-", " ")).split()
    assert words == reference.split()
    assert as_json["usage"]["type"] == "duration" and 2 < as_json["usage"]["seconds"] < 4
    text = transcribe(client, wav, response_format="text")
    assert text.headers["content-type"].startswith("text/plain") and text.text == as_json["text"] + "\n"
    srt = transcribe(client, wav, response_format="srt").text
    assert re.fullmatch(r"(\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+\n\n)+", srt), srt
    assert srt.startswith("1\n00:00:00,000 --> ") and as_json["text"] in srt
    vtt = transcribe(client, wav, response_format="vtt")
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT\n\n00:00:00.000 --> ")
    assert as_json["text"] in vtt.text


def test_verbose_json_has_segments_and_words(client, clip):
    wav, _ = clip
    body = transcribe(client, wav, response_format="verbose_json", model="whisper-1",
                      **{"timestamp_granularities[]": ["word", "segment"]}).json()
    assert body["language"] == "en" and 2 < body["duration"] < 4
    seg = body["segments"][0]
    assert {"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio",
            "no_speech_prob"} <= set(seg)
    assert " ".join(s["text"] for s in body["segments"]) == body["text"]
    assert [w["word"] for w in body["words"]][:3] == ["He", "was", "not"]
    assert all(0 <= w["start"] <= w["end"] <= body["duration"] + 0.5 for w in body["words"])
    no_words = transcribe(client, wav, response_format="verbose_json").json()
    assert "words" not in no_words and no_words["text"] == body["text"]


@pytest.mark.parametrize(
    "files, form, status, needle",
    [
        ({"file": ("x.wav", b"this is not audio", "audio/wav")}, {}, 422, "cannot decode audio"),
        ({"file": ("x.wav", b"", "audio/wav")}, {}, 422, "empty"),
        (None, {}, 422, "file"),
        ({"file": ("x.wav", b"RIFF", "audio/wav")}, {"response_format": "diarized_json"}, 422, "response_format"),
        ({"file": ("x.wav", b"RIFF", "audio/wav")}, {"model": "gpt-4o-transcribe"}, 404, "whisper-1"),
        ({"file": ("x.wav", b"RIFF", "audio/wav")}, {"language": "xx"}, 422, "language"),
    ],
)
def test_bad_uploads_get_a_4xx_naming_the_problem(client, files, form, status, needle):
    response = client.post("/v1/audio/transcriptions", files=files, data={"model": "whisper-base", **form})
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]["message"]


def test_oversized_upload_is_refused_before_it_is_read(monkeypatch):
    from fastapi.testclient import TestClient

    from modelbay.core.settings import get_settings
    from modelbay.serve.app import create_app

    monkeypatch.setenv("MODELBAY_LIMIT_MAX_BODY_BYTES", "100000")
    get_settings.cache_clear()
    try:
        small = TestClient(create_app())
        response = small.post("/v1/audio/transcriptions", files={"file": ("big.wav", b"\0" * 200_000, "audio/wav")},
                              data={"model": "whisper-base"})
    finally:
        get_settings.cache_clear()
    assert response.status_code == 413 and "100000" in response.json()["error"]["message"]
