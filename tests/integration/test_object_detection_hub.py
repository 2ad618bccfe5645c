"""object-detection's transformers path (DETR in the hub layout), on a tiny random DETR built and saved here."""

from __future__ import annotations

import io
import textwrap

import numpy as np
import pytest

pytest.importorskip("transformers")
skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture
def tiny_detr(tmp_path, fresh_settings):
    """A 2-class DETR with a 2-stage ResNet backbone (random weights), as a `local:` catalog model."""
    import torch
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    torch.manual_seed(0)
    backbone = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic",
                            out_features=["stage2"])
    config = DetrConfig(use_timm_backbone=False, backbone_config=backbone, use_pretrained_backbone=False, d_model=32,
                        encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
                        encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=6,
                        id2label={0: "cat", 1: "dog"}, label2id={"cat": 0, "dog": 1})
    model_dir = tmp_path / "tiny-detr"
    DetrForObjectDetection(config).eval().save_pretrained(model_dir)
    DetrImageProcessor(size={"shortest_edge": 64, "longest_edge": 96}).save_pretrained(model_dir)
    catalog = fresh_settings().home / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "tiny-detr.yaml").write_text(textwrap.dedent(f"""\
        name: tiny-detr
        task: object-detection
        languages: [en]
        sources: ["local:{model_dir}"]
        license: Apache-2.0
        origin: built by the test
        size_mb: 0.1
        install: built by the test
        options: {{backend: hub-detr}}
    """))
    return model_dir


def test_hub_detr_boxes_match_transformers_post_processing(tiny_detr):
    import torch
    from PIL import Image
    from transformers import AutoImageProcessor, AutoModelForObjectDetection

    from modelbay.core.loading import load_task
    from modelbay.core.registry import get_task

    photo = skimage_data.chelsea()  # 451 x 300
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "PNG")
    task = load_task("object-detection", "tiny-detr")
    cls = get_task("object-detection")
    out = task([cls.coerce({"image": buf.getvalue(), "score_threshold": 0.0, "iou_threshold": 1.0})])[0]

    processor = AutoImageProcessor.from_pretrained(tiny_detr)
    model = AutoModelForObjectDetection.from_pretrained(tiny_detr).eval()
    with torch.inference_mode():
        raw = model(**processor(images=Image.fromarray(photo), return_tensors="pt"))
    expected = processor.post_process_object_detection(raw, threshold=0.0, target_sizes=[(300, 451)])[0]
    order = np.argsort(-expected["scores"].numpy(), kind="stable")
    assert [d.label for d in out.detections] == [("cat", "dog")[int(expected["labels"][i])] for i in order]
    assert [d.score for d in out.detections] == pytest.approx([float(expected["scores"][i]) for i in order], abs=1e-4)
    want = np.clip(expected["boxes"].numpy()[order], 0, [451, 300, 451, 300])
    got = np.array([[d.box.x0, d.box.y0, d.box.x1, d.box.y1] for d in out.detections])
    assert got == pytest.approx(want, abs=0.06)
    assert (out.width, out.height) == (451, 300) and len(out.detections) == 6

    only_dogs = task([cls.coerce({"image": buf.getvalue(), "score_threshold": 0.0, "classes": ["dog"]})])[0]
    assert {d.label for d in only_dogs.detections} <= {"dog"}
