"""Marian checkpoints are real code: a tiny Marian model (random weights, a SentencePiece vocabulary trained
here on a few sentences) is built in the test, saved in the hub layout and run through the catalog offline."""

import io
import json

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.loading import load_task

pytest.importorskip("sentencepiece", reason="pip install sentencepiece==0.2.3 (Marian tokenizers need it)")

SENTENCES = ["The parcel arrived today.", "Your refund was sent.", "Thank you for waiting.", "We are sorry.",
             "包裹今天到了。", "退款已经发出。", "感谢您的耐心等待。", "非常抱歉。"] * 5


def _spm_model(path) -> None:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(SENTENCES), model_writer=model, vocab_size=60,
                                   character_coverage=1.0, model_type="unigram", minloglevel=2)
    path.write_bytes(model.getvalue())


@pytest.fixture
def tiny_marian(fresh_settings, tmp_path, monkeypatch):
    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    hub_cache = tmp_path / "hub"
    monkeypatch.setenv("MODELBAY_HUB_CACHE", str(hub_cache))
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = hub_cache / "models--tiny-org--tiny-marian-en-zh"
    snapshot = repo_dir / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(revision)
    build = tmp_path / "build"
    build.mkdir()
    _spm_model(build / "source.spm")
    _spm_model(build / "target.spm")
    processor = spm.SentencePieceProcessor(model_file=str(build / "source.spm"))
    pieces = ["</s>", "<unk>", "<pad>"] + [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab = {p: i for i, p in enumerate(dict.fromkeys(pieces))}
    (build / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(str(build / "source.spm"), str(build / "target.spm"), str(build / "vocab.json"))
    tokenizer.save_pretrained(snapshot)
    config = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                          decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
                          pad_token_id=vocab["<pad>"], eos_token_id=vocab["</s>"], decoder_start_token_id=vocab["<pad>"])
    MarianMTModel(config).save_pretrained(snapshot)
    spec = {"name": "tiny-marian-en-zh", "task": "translation", "languages": ["en", "zh"],
            "sources": ["hub:tiny-org/tiny-marian-en-zh"], "license": "MIT", "origin": "built by the test",
            "size_mb": 0.1, "install": "built by the test",
            "options": {"backend": "marian", "source_lang": "en", "target_lang": "zh"}}
    catalog_dir = fresh_settings().home / "catalog"
    catalog_dir.mkdir(parents=True)
    (catalog_dir / "tiny-marian-en-zh.yaml").write_text(json.dumps(spec))
    return snapshot


def test_a_marian_checkpoint_translates_pieces_in_order_and_refuses_other_directions(tiny_marian):
    task = load_task("translation", "tiny-marian-en-zh")
    assert task.model.path == tiny_marian
    long_text = " ".join(["The parcel arrived today."] * 60) + "\nThank you for waiting."
    outputs = task([task.coerce("Your refund was sent."), task.coerce({"text": long_text, "target_lang": "zh"})])
    assert [(o.source_lang, o.target_lang) for o in outputs] == [("en", "zh"), ("en", "zh")]
    assert outputs[0].pieces == 1
    assert outputs[1].pieces > 2  # 60 sentences do not fit one piece (32 tokens for 64 positions); the line break is kept
    assert outputs[1].translation_text.count("\n") == 1
    again = task([task.coerce("Your refund was sent."), task.coerce({"text": long_text, "target_lang": "zh"})])
    assert again == outputs  # greedy: deterministic
    with pytest.raises(BadInput, match="cannot translate zh->en; it translates en->zh"):
        task([task.coerce("退款已经发出。")])
