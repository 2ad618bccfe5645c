"""The official `openai` package, unchanged, against a real `modelbay serve` subprocess."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

openai = pytest.importorskip("openai")

pytestmark = pytest.mark.e2e

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def _librivox_dir() -> Path:
    """The LibriVox clips fetcher of the speech-recognition tests (one copy of that code)."""
    path = Path(__file__).parents[1] / "integration" / "test_speech_recognition.py"
    spec = importlib.util.spec_from_file_location("_speech_recognition_clips", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.librivox_dir()


@pytest.fixture(scope="module")
def client(start_server):
    with start_server("chat", "embeddings", "speech-recognition") as base:
        yield openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=120)


def test_models_list(client):
    ids = {m.id for m in client.models.list()}
    assert {"smollm2-135m-instruct", "all-minilm-l6-v2", "whisper-base"} <= ids


def test_embeddings(client):
    # the package asks for base64 unless told otherwise; both must decode to the same unit vectors
    packed = client.embeddings.create(model="all-minilm-l6-v2", input=["refund policy", "money back"])
    plain = client.embeddings.create(model="all-minilm-l6-v2", input=["refund policy", "money back"],
                                     encoding_format="float")
    assert [len(d.embedding) for d in packed.data] == [384, 384]
    for a, b in zip(packed.data, plain.data, strict=True):
        assert a.embedding == pytest.approx(b.embedding, abs=1e-6)
        assert sum(v * v for v in a.embedding) == pytest.approx(1.0, abs=1e-4)
    assert packed.usage.prompt_tokens > 0


def test_chat_completion_and_stream_agree(client):
    reply = client.chat.completions.create(model="default", messages=QUESTION, max_tokens=32,
                                           temperature=0)
    choice = reply.choices[0]
    assert "Paris" in choice.message.content and choice.finish_reason == "stop"
    assert reply.usage.completion_tokens > 0
    pieces, finish = [], None
    for chunk in client.chat.completions.create(model="default", messages=QUESTION, max_tokens=32,
                                                temperature=0, stream=True):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces) == choice.message.content and finish == "stop"


def test_chat_errors_raise_the_packages_exceptions(client):
    with pytest.raises(openai.NotFoundError, match="smollm2-135m-instruct"):
        client.chat.completions.create(model="gpt-4o", messages=QUESTION, max_tokens=4)
    with pytest.raises(openai.UnprocessableEntityError, match="messages"):
        client.chat.completions.create(model="default", messages=[], max_tokens=4)


def test_transcription_verbose_json(client):
    wav = min(_librivox_dir().glob("*.wav"), key=lambda p: p.stat().st_size)
    with wav.open("rb") as fh:
        result = client.audio.transcriptions.create(file=fh, model="whisper-base", response_format="verbose_json",
                                                    language="en", timestamp_granularities=["word", "segment"])
    assert "ill-disposed young man" in result.text.lower()
    assert result.language == "en" and 2 < result.duration < 4
    assert result.segments[0].start == 0.0 and result.words[0].word == "He"
    with wav.open("rb") as fh:
        text = client.audio.transcriptions.create(file=fh, model="whisper-1", response_format="text", language="en")
    assert text.strip() == result.text
