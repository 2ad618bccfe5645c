"""Hub loading is real code: test it on a tiny model built here and saved in the hub cache layout."""

import json

import pytest

from modelbay.core.loading import load_task


@pytest.fixture
def tiny_hub_model(fresh_settings, tmp_path, monkeypatch):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    hub_cache = tmp_path / "hub"
    monkeypatch.setenv("MODELBAY_HUB_CACHE", str(hub_cache))
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = hub_cache / "models--tiny-org--tiny-bert"
    snapshot = repo_dir / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(revision)

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "refund", "money", "back", "policy", "the", "cat", "sat"]
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(words))
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(snapshot)
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).save_pretrained(snapshot)

    spec = {"name": "tiny-bert", "task": "embeddings", "languages": ["en"], "sources": ["hub:tiny-org/tiny-bert"],
            "license": "MIT", "origin": "built by the test", "size_mb": 0.1, "install": "built by the test",
            "options": {"backend": "sentence-transformers"}}
    catalog_dir = fresh_settings().home / "catalog"
    catalog_dir.mkdir(parents=True)
    (catalog_dir / "tiny-bert.yaml").write_text(json.dumps(spec))  # JSON is valid YAML
    return snapshot


def test_a_hub_layout_model_loads_offline_from_the_local_cache(tiny_hub_model):
    task = load_task("embeddings", "tiny-bert")
    assert task.model.path == tiny_hub_model
    outputs = task([task.coerce("refund policy"), task.coerce("the cat sat")])
    assert [o.dim for o in outputs] == [16, 16]
    assert outputs[0].embedding != outputs[1].embedding


def test_a_hub_model_not_in_the_cache_is_not_fetched_while_offline(tiny_hub_model, fresh_settings, monkeypatch, tmp_path):
    from modelbay.core.errors import ModelUnavailable

    monkeypatch.setenv("MODELBAY_HUB_CACHE", str(tmp_path / "empty-cache"))
    fresh_settings.cache_clear()
    with pytest.raises(ModelUnavailable, match="offline"):
        load_task("embeddings", "tiny-bert")


# -- chat: a causal LM checkpoint in the hub layout runs on the transformers runtime -------------------------

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


@pytest.fixture
def tiny_hub_chat_model(fresh_settings, tmp_path, monkeypatch):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    hub_cache = tmp_path / "hub"
    monkeypatch.setenv("MODELBAY_HUB_CACHE", str(hub_cache))
    revision = "89abcdef0123456789abcdef0123456789abcdef"
    repo_dir = hub_cache / "models--tiny-org--tiny-chat"
    snapshot = repo_dir / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(revision)

    specials = ["<unk>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
    words = ["hello", "refund", "money", "back", "the", "cat", "sat", "please", "thanks", "order"]
    raw = Tokenizer(models.WordLevel({w: i for i, w in enumerate(specials + words)}, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="<unk>", eos_token="<|end|>",
                                        additional_special_tokens=specials[2:])
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(snapshot)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(specials) + len(words), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=64, eos_token_id=1, pad_token_id=1, bos_token_id=0)
    LlamaForCausalLM(config).save_pretrained(snapshot)

    spec = {"name": "tiny-chat", "task": "chat", "languages": ["en"], "sources": ["hub:tiny-org/tiny-chat"],
            "license": "MIT", "origin": "built by the test", "size_mb": 0.1, "install": "built by the test",
            "options": {"runtime": "transformers"}}
    catalog_dir = fresh_settings().home / "catalog"
    catalog_dir.mkdir(parents=True)
    (catalog_dir / "tiny-chat.yaml").write_text(json.dumps(spec))
    return snapshot


def test_a_hub_chat_checkpoint_runs_on_the_transformers_runtime(tiny_hub_chat_model):
    from modelbay.core.catalog import resolve
    from modelbay.ml.llm.loading import load_language_model

    task = load_task("chat", "tiny-chat")
    assert task.model.path == tiny_hub_chat_model and task.llm.runtime == "transformers"
    assert task.context_tokens == 64  # the checkpoint's max_position_embeddings
    value = {"messages": [{"role": "user", "content": "refund please"}], "temperature": 0, "max_new_tokens": 5}
    [out] = task([task.coerce(value)])
    assert out.usage.prompt_tokens == 5  # <|user|> refund please <|end|> <|assistant|>
    assert out.usage.completion_tokens <= 5
    assert "".join(task.stream(task.coerce(value))) == out.text
    fresh = load_language_model(resolve("tiny-chat"))  # a second load of the same files answers the same
    assert fresh.complete(value["messages"], task.coerce(value).settings()).text == out.text


def test_reply_logprobs_on_the_transformers_runtime_are_a_distribution_and_follow_the_chain_rule(tiny_hub_chat_model):
    import math

    from modelbay.core.catalog import resolve
    from modelbay.ml.llm.loading import load_language_model

    llm = load_language_model(resolve("tiny-chat"))
    messages = [{"role": "user", "content": "refund please"}]
    tokens = list(llm.tokenizer.get_vocab())  # special tokens too: each is one token in text
    first = dict(zip(tokens, llm.reply_logprobs(messages, tokens)))
    assert math.isclose(sum(math.exp(s) for s in first.values()), 1.0, rel_tol=1e-4)
    pairs = llm.reply_logprobs(messages, [f"refund {t}" for t in tokens])  # P(refund, t) for every next token t
    assert math.isclose(sum(math.exp(p) for p in pairs), math.exp(first["refund"]), rel_tol=1e-4)
