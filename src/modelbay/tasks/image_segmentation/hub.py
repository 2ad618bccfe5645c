"""Transformers semantic segmentation (SegFormer, Mask2Former, …) from a model directory.

The directory is what ``save_pretrained`` writes (a ``hub:org/name@revision`` source in the hub
cache, or a ``local:`` folder): the image processor decides resizing and normalisation, the
config's ``id2label`` names the classes. SegFormer-style models (``logits`` of shape
``(1, classes, h, w)``) are upsampled bilinearly to the image and give per-pixel probabilities,
so segments have scores and ``threshold`` applies; universal models (Mask2Former, MaskFormer,
OneFormer) go through the processor's ``post_process_semantic_segmentation`` and have no scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .masks import LabelMap

UNIVERSAL = ("mask2former", "maskformer", "oneformer")


class HubSegmenter:
    def __init__(self, path: Path, options: dict[str, Any], device: str = "cpu", *, name: str | None = None) -> None:
        from transformers import AutoConfig, AutoImageProcessor

        config = AutoConfig.from_pretrained(path, local_files_only=True)
        self.universal = config.model_type in UNIVERSAL
        if self.universal:
            from transformers import AutoModelForUniversalSegmentation as Auto
        else:
            from transformers import AutoModelForSemanticSegmentation as Auto
        self.processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
        self.net = Auto.from_pretrained(path, local_files_only=True).eval().to(device)
        self.device = device
        labels = config.id2label or {}
        self.names = [str(labels.get(i, labels.get(str(i), f"class {i}"))) for i in range(config.num_labels)]
        self.describe = f"{config.model_type} ({name or Path(path).name})"

    def segment(self, img, threshold: float | None) -> LabelMap:
        import torch

        inputs = self.processor(images=img, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            out = self.net(**inputs)
            if self.universal:
                index = self.processor.post_process_semantic_segmentation(out, target_sizes=[img.size[::-1]])[0]
                return LabelMap(index=(index.cpu().numpy().astype("int32") + 1), names=self.names)
            logits = torch.nn.functional.interpolate(out.logits.float(), size=img.size[::-1], mode="bilinear",
                                                     align_corners=False)
            probs, best = torch.softmax(logits[0], dim=0).max(dim=0)
        index = best.cpu().numpy().astype("int32") + 1
        confidence = probs.cpu().numpy()
        if threshold is not None:
            index[confidence < threshold] = 0
        return LabelMap(index=index, names=self.names, confidence=confidence)
