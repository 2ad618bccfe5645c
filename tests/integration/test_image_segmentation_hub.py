"""image-segmentation's transformers path on tiny random SegFormer and Mask2Former models built and saved here
(the hub layout a `hub:` source downloads), loaded as `local:` catalog models."""

from __future__ import annotations

import io
import textwrap

import numpy as np
import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.metrics.segmentation import rle_decode

pytest.importorskip("transformers")
skimage_data = pytest.importorskip("skimage.data")
LABELS = {0: "sky", 1: "road", 2: "person"}


def catalog_entry(settings, name: str, model_dir) -> None:
    catalog = settings.home / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    (catalog / f"{name}.yaml").write_text(textwrap.dedent(f"""\
        name: {name}
        task: image-segmentation
        languages: [en]
        sources: ["local:{model_dir}"]
        license: Apache-2.0
        origin: built by the test
        size_mb: 0.1
        install: built by the test
        options: {{backend: hub}}
    """))


@pytest.fixture
def tiny_segformer(tmp_path, fresh_settings):
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    torch.manual_seed(0)
    config = SegformerConfig(num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
                             num_attention_heads=[1, 2], mlp_ratios=[2, 2], patch_sizes=[7, 3], strides=[4, 2],
                             decoder_hidden_size=16, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    model_dir = tmp_path / "tiny-segformer"
    SegformerForSemanticSegmentation(config).eval().save_pretrained(model_dir)
    SegformerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(model_dir)
    catalog_entry(fresh_settings(), "tiny-segformer", model_dir)
    return model_dir


def photo_png() -> tuple[bytes, object]:
    from PIL import Image

    img = Image.fromarray(skimage_data.chelsea())  # 451 x 300
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue(), img


def test_segformer_masks_match_transformers(tiny_segformer):
    import torch
    from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation

    from modelbay.core.loading import load_task

    data, img = photo_png()
    task = load_task("image-segmentation", "tiny-segformer")
    out = task([task.coerce({"image": data, "return_mask": True})])[0]

    processor = AutoImageProcessor.from_pretrained(tiny_segformer)
    model = AutoModelForSemanticSegmentation.from_pretrained(tiny_segformer).eval()
    with torch.inference_mode():
        logits = model(**processor(images=img, return_tensors="pt")).logits
        up = torch.nn.functional.interpolate(logits, size=(300, 451), mode="bilinear", align_corners=False)
        probs = torch.softmax(up[0], dim=0)
    expected = probs.argmax(0).numpy()
    assert out.method == "segformer (tiny-segformer)" and (out.width, out.height) == (451, 300)
    assert {s.label for s in out.segments} == {LABELS[int(k)] for k in np.unique(expected)}
    for s in out.segments:
        want = expected == {v: k for k, v in LABELS.items()}[s.label]
        assert np.array_equal(rle_decode(s.mask_rle.model_dump()), want)
        assert s.score == pytest.approx(float(probs.max(0).values.numpy()[want].mean()), abs=1e-3)

    sure = task([task.coerce({"image": data, "threshold": 0.9})])[0]  # random weights: few pixels are that sure
    assert sum(s.area_px for s in sure.segments) < sum(s.area_px for s in out.segments) == 451 * 300
    assert task.render(task.coerce({"image": data}), out).startswith(b"\x89PNG")
    with pytest.raises(BadInput, match="method: only classical models take it"):
        task([task.coerce({"image": data, "method": "slic"})])


def test_mask2former_goes_through_the_processors_post_processing(tmp_path, fresh_settings):
    import torch
    from transformers import (
        Mask2FormerConfig,
        Mask2FormerForUniversalSegmentation,
        Mask2FormerImageProcessor,
        SwinConfig,
    )

    from modelbay.core.loading import load_task

    torch.manual_seed(0)
    backbone = SwinConfig(embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4,
                          out_features=["stage1", "stage2", "stage3", "stage4"])
    config = Mask2FormerConfig(backbone_config=backbone, hidden_dim=32, mask_feature_size=32, feature_size=32,
                               encoder_layers=1, decoder_layers=2, num_attention_heads=2, dim_feedforward=32,
                               encoder_feedforward_dim=32, num_queries=4, common_stride=4,
                               id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    model_dir = tmp_path / "tiny-m2f"
    model = Mask2FormerForUniversalSegmentation(config).eval()
    model.save_pretrained(model_dir)
    processor = Mask2FormerImageProcessor(size={"height": 64, "width": 64}, do_reduce_labels=False)
    processor.save_pretrained(model_dir)
    catalog_entry(fresh_settings(), "tiny-m2f", model_dir)

    data, img = photo_png()
    task = load_task("image-segmentation", "tiny-m2f")
    out = task([task.coerce({"image": data})])[0]
    with torch.inference_mode():
        raw = model(**processor(images=img, return_tensors="pt"))
    expected = processor.post_process_semantic_segmentation(raw, target_sizes=[(300, 451)])[0].numpy()
    assert out.method.startswith("mask2former") and all(s.score is None for s in out.segments)
    for s in out.segments:
        assert np.array_equal(rle_decode(s.mask_rle.model_dump()), expected == {v: k for k, v in LABELS.items()}[s.label])
    assert sum(s.area_px for s in out.segments) == 451 * 300
