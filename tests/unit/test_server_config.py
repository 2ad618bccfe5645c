import pytest

from modelbay.serve.config import ServerConfig


def test_yaml_then_env_then_flags(tmp_path, monkeypatch):
    path = tmp_path / "deploy.yaml"
    path.write_text(
        "host: 0.0.0.0\nport: 9000\npreload: [sentiment]\n"
        "batching: {max_batch_size: 16, max_wait_ms: 5}\n"
        "batching_overrides: {embeddings: {max_batch_size: 128}}\n"
        "auth: {rate_limit_per_minute: 60}\n"
    )
    monkeypatch.setenv("MODELBAY_SERVE_BATCHING__MAX_WAIT_MS", "1")
    config = ServerConfig.load(path, port=9100)
    assert config.host == "0.0.0.0" and config.port == 9100  # flag beats file
    assert config.batching.max_batch_size == 16 and config.batching.max_wait_ms == 1  # env beats file
    assert config.batching_for("embeddings", "all-minilm-l6-v2").max_batch_size == 128
    assert config.batching_for("sentiment", "x").max_batch_size == 16
    assert config.auth.rate_limit_per_minute == 60


def test_auth_is_required_off_loopback_unless_overridden():
    assert ServerConfig(host="127.0.0.1").auth_required is False
    assert ServerConfig(host="localhost").auth_required is False
    assert ServerConfig(host="::1").auth_required is False
    assert ServerConfig(host="0.0.0.0").auth_required is True
    assert ServerConfig(host="0.0.0.0", auth={"required": False}).auth_required is False


@pytest.mark.parametrize("text, needle", [
    ("port: [not, a, port]", "port"),
    ("batching: {max_batch_sise: 3}", "max_batch_sise"),
    (": : :", "YAML"),
])
def test_bad_config_files_name_the_problem(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=needle):
        ServerConfig.load(path)


def test_missing_config_file():
    with pytest.raises(ValueError, match="not found"):
        ServerConfig.load("/nonexistent/deploy.yaml")
