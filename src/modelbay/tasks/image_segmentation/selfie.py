"""Person vs background with MediaPipe's Selfie Segmentation model (converted TF.js graph, run by onnxruntime).

The graph takes ``(1, 256, 256, 3)`` RGB in 0..1 (the photo stretched to the square, as MediaPipe and
the TF.js Human library feed it) and gives ``(1, 256, 256, 1)`` person probabilities (a sigmoid). The
map is upsampled bilinearly to the photo; a pixel is ``person`` where ``p >= person_threshold``
(catalog option, 0.5), else ``background``. Confidence is the winning side's probability (``p`` or
``1 - p``), so segment scores and the ``threshold`` input mean what they mean for the other backends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import ModelUnavailable
from .masks import LabelMap

NAMES = ["person", "background"]


class SelfieSegmenter:
    def __init__(self, path: Path, options: dict[str, Any], device: str = "cpu") -> None:
        import onnxruntime as ort

        onnx = Path(path) / str(options.get("onnx", "selfie.onnx"))
        if not onnx.is_file():
            raise ModelUnavailable(f"{onnx} is missing", hint="modelbay models install selfie-segmentation --force")
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = int(options.get("threads", 0))
        session_options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx), session_options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.size = int(options.get("input_size", 256))
        self.person_threshold = float(options.get("person_threshold", 0.5))
        self.names = NAMES
        self.describe = "selfie segmentation (MediaPipe, person vs background)"

    def person_probability(self, img):
        """``(h, w)`` float32 person probability at the image's own size."""
        import numpy as np
        from PIL import Image

        x = np.asarray(img.convert("RGB").resize((self.size, self.size), Image.BILINEAR), dtype=np.float32) / 255.0
        out = self.session.run(None, {self.input_name: np.ascontiguousarray(x[None])})[0]
        prob = np.clip(out.reshape(self.size, self.size), 0.0, 1.0).astype(np.float32)
        return np.asarray(Image.fromarray(prob, mode="F").resize(img.size, Image.BILINEAR), dtype=np.float32)

    def segment(self, img, threshold: float | None) -> LabelMap:
        import numpy as np

        prob = self.person_probability(img)
        person = prob >= self.person_threshold
        index = np.where(person, 1, 2).astype(np.int32)
        confidence = np.where(person, prob, 1.0 - prob).astype(np.float32)
        if threshold is not None:
            index[confidence < threshold] = 0
        return LabelMap(index=index, names=self.names, confidence=confidence)
