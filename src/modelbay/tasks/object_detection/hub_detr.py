"""transformers object-detection checkpoints (DETR, Conditional/Deformable DETR, RT-DETR, YOLOS…) in the hub layout.

A catalog spec with ``options.backend: hub-detr`` and a ``hub:<repo>@<revision>`` (or ``local:<dir>``)
source; the directory holds ``config.json`` (with ``id2label``), the weights and
``preprocessor_config.json``. The image processor resizes and normalises; its
``post_process_object_detection`` turns logits into boxes in the original image's pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class HubDetector:
    """``detect(image) -> (boxes xyxy in the image's pixels, scores, class ids)`` with a transformers model."""

    def __init__(self, path: Path, device: str = "cpu") -> None:
        from transformers import AutoImageProcessor, AutoModelForObjectDetection

        self.processor = AutoImageProcessor.from_pretrained(str(path))
        self.model = AutoModelForObjectDetection.from_pretrained(str(path)).eval().to(device)
        self.device = device
        id2label = {int(k): str(v) for k, v in self.model.config.id2label.items()}
        self.class_names = tuple(id2label.get(i, f"class {i}") for i in range(max(id2label) + 1))

    def detect(self, image, min_score: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import torch

        rgb = image.convert("RGB")
        inputs = self.processor(images=rgb, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            outputs = self.model(**inputs)
        result = self.processor.post_process_object_detection(
            outputs, threshold=min_score, target_sizes=[(rgb.height, rgb.width)])[0]
        w, h = rgb.size
        boxes = np.clip(result["boxes"].float().cpu().numpy().reshape(-1, 4), 0, [w, h, w, h])
        return (boxes.astype(np.float32), result["scores"].float().cpu().numpy().astype(np.float32),
                result["labels"].cpu().numpy().astype(np.int64))
