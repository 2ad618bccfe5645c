"""What the two face tasks share: the box type, image decoding, loading the models and example photos."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ...core.media import decode_image_field

Detector = Literal["hog", "cnn", "haar"]
IMAGE_HELP = "JPEG/PNG/WebP/GIF/BMP bytes, or a base64 string of them (a data: URL is fine)"


class Box(BaseModel):
    x0: float = Field(..., description="left edge, pixels from the image's left")
    y0: float = Field(..., description="top edge, pixels from the image's top")
    x1: float = Field(..., description="right edge (exclusive)")
    y1: float = Field(..., description="bottom edge (exclusive)")

    @classmethod
    def of(cls, box: tuple[float, float, float, float]) -> Box:
        return cls(x0=box[0], y0=box[1], x1=box[2], y1=box[3])

    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


def decoded(value: bytes | str, field: str):
    """``(PIL image, uint8 RGB array)`` of a media field; size and pixel limits checked by ``decode_image``."""
    import numpy as np

    image = decode_image_field(value, field)
    return image, np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def face_models(model) -> Any:
    """The ``FaceModels`` of a resolved catalog model.

    A calibrated model (``modelbay train face-verification``) holds no weights: its card names the
    catalog model whose files it uses (``base_model``) and overrides that model's options (``threshold``).
    """
    from .model import FaceModels

    options = dict(model.spec.options)
    directory = model.path
    if options.get("base_model"):
        from ...core.catalog import resolve

        base = resolve(str(options["base_model"]))
        options, directory = {**base.spec.options, **options}, base.path
    return FaceModels(directory, options)


@functools.lru_cache(maxsize=1)
def example_photos() -> tuple[bytes, bytes]:
    """Two public-domain portraits that ship in dependencies, as JPEG bytes.

    Eileen Collins (NASA, public domain) from scikit-image's ``data.astronaut`` and Grace Hopper (US Navy,
    public domain) from matplotlib's sample data.
    """
    import io

    import matplotlib
    from PIL import Image
    from skimage import data

    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="JPEG", quality=92)
    return buf.getvalue(), hopper.read_bytes()
