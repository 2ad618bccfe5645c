"""A client that disconnects mid-stream must not leave the model generating (and locked)."""

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Greedy decoding without a repetition penalty makes this small model repeat itself until
# max_new_tokens runs out, so the stream below would last minutes if nothing stopped it.
LOOPING = {"prompt": "Repeat the word hello forever: hello hello hello", "temperature": 0,
           "repetition_penalty": 1.0}


def test_disconnecting_mid_stream_frees_the_model(start_server):
    # A 20 s request timeout: if the abandoned stream kept the model, the next request would get 504.
    with start_server("chat", env={"MODELBAY_SERVE_REQUEST_TIMEOUT_S": "20"}) as base:
        probe = httpx.post(f"{base}/v1/tasks/chat", json={"inputs": [{**LOOPING, "max_new_tokens": 48}]}, timeout=60)
        assert probe.status_code == 200
        assert probe.json()["outputs"][0]["finish_reason"] == "length"  # the prompt really does not stop by itself

        with httpx.stream("POST", f"{base}/v1/tasks/chat", timeout=60,
                          json={"inputs": [{**LOOPING, "max_new_tokens": 4000}], "stream": True}) as response:
            assert response.status_code == 200
            pieces = 0
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    pieces += 1
                if pieces >= 5:
                    break  # leaving the block closes the connection mid-stream
        assert pieces >= 5

        after = httpx.post(f"{base}/v1/tasks/chat", timeout=60,
                           json={"inputs": [{"prompt": "Say hi.", "temperature": 0, "max_new_tokens": 4}]})
        assert after.status_code == 200, after.text  # a 504 here means the abandoned generation held the model
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
