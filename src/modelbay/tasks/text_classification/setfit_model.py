"""The few-shot (SetFit) model format, reader and writer together: a fine-tuned sentence encoder
(``encoder/``, transformers) with a logistic-regression head (``head.npz``), described by ``setfit.json``.

``SetFitEncoder`` is the encoder both the trainer (``setfit.py``) and the reader use, so
training and inference pool and cut texts the same way: the prefix, ``max_length`` tokens,
mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

from pathlib import Path

FORMAT = "modelbay.setfit/1"


class SetFitEncoder:
    """A transformers encoder with mean pooling and L2 normalisation."""

    def __init__(self, model, tokenizer, *, max_length: int, prefix: str = "", batch_size: int = 32) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_length, self.prefix, self.batch_size = int(max_length), prefix, batch_size

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, max_length: int, prefix: str = "", device: str = "cpu") -> SetFitEncoder:
        from ...core.loading import prepare_environment

        prepare_environment()  # offline unless allowed, and no progress bars of the libraries' own
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        return cls(model, tokenizer, max_length=max_length, prefix=prefix)

    def embed(self, texts: list[str]):
        """Normalised embeddings as a torch tensor, with gradients when the model is in training mode."""
        import torch

        batch = self.tokenizer([self.prefix + t for t in texts], padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt").to(self.model.device)
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode(self, texts: list[str]):
        """Normalised embeddings as a float32 numpy array, in batches of similar length."""
        import numpy as np
        import torch

        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                out[idx] = self.embed([texts[i] for i in idx]).float().cpu().numpy()
        return out

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)


class SetFitClassifier:
    """Runs a directory written by ``train_setfit``: encode, then softmax of the linear head."""

    def __init__(self, path, device: str = "cpu") -> None:
        from ...ml.model_files import ModelDir

        d = ModelDir(path, hint="retrain it with `modelbay train text-classification --param method=setfit`")
        config = d.config("setfit.json", (FORMAT,), required=("labels", "max_length"))
        self.labels: list[str] = d.labels(config, "setfit.json")
        (self.weights, self.bias), = d.mlp_layers(1, len(self.labels))
        encoder_dir = Path(path) / "encoder"
        if not (encoder_dir / "config.json").is_file():
            raise d.error("encoder/config.json is missing")
        self.encoder = SetFitEncoder.from_checkpoint(encoder_dir, max_length=int(config["max_length"]),
                                                     prefix=str(config.get("prefix", "")), device=device)

    def predict_proba(self, texts: list[str]):
        from ...ml.model_files import softmax

        return softmax(self.encoder.encode(texts) @ self.weights + self.bias)
