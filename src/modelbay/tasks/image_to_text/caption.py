"""A caption model from a Hugging Face folder: VisionEncoderDecoder (ViT-GPT2 style) or BLIP-style image-text-to-text.

The folder is a catalog model's files (``hub:…`` when the hub is allowed, a copied snapshot, or
``local:…``); nothing is downloaded here.
"""

from __future__ import annotations

from pathlib import Path


class Captioner:
    def __init__(self, path: Path, device: str = "cpu") -> None:
        import json

        import torch  # noqa: F401 - transformers needs it; imported here so the error names torch

        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        self.kind = config.get("model_type", "")
        self.device = device
        self.processor, self.tokenizer = _processors(path)
        self.model = _model(path, self.kind).to(device).eval()

    def __call__(self, images: list, max_new_tokens: int) -> list[str]:
        """Captions of PIL RGB images (greedy decoding, deterministic)."""
        import torch

        if self.tokenizer is None:  # one processor (BLIP): images in, text out
            inputs = self.processor(images=images, return_tensors="pt").to(self.device)
        else:
            inputs = {"pixel_values": self.processor(images=images, return_tensors="pt").pixel_values.to(self.device)}
        with torch.inference_mode():
            ids = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
        decode = (self.tokenizer or self.processor).batch_decode
        return [" ".join(text.split()) for text in decode(ids, skip_special_tokens=True)]


def _processors(path: Path):
    """``(image processor, tokenizer)`` for an encoder-decoder folder; ``(processor, None)`` when one processor does both."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    if (Path(path) / "processor_config.json").is_file() or (Path(path) / "preprocessor_config.json").is_file():
        try:
            processor = AutoProcessor.from_pretrained(str(path), local_files_only=True)
            if hasattr(processor, "tokenizer") and hasattr(processor, "image_processor"):
                return processor, None
        except (OSError, ValueError, TypeError):
            pass
    return (AutoImageProcessor.from_pretrained(str(path), local_files_only=True),
            AutoTokenizer.from_pretrained(str(path), local_files_only=True))


def _model(path: Path, kind: str):
    import transformers

    if kind == "vision-encoder-decoder":
        return transformers.VisionEncoderDecoderModel.from_pretrained(str(path), local_files_only=True)
    return transformers.AutoModelForImageTextToText.from_pretrained(str(path), local_files_only=True)
