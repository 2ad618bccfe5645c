"""image-to-text: the offline composed description (real classification, detection and OCR models) and the
caption-model path, run with a tiny VisionEncoderDecoder built and saved in the test (random weights, no download)."""

from __future__ import annotations

import io

import pytest

from modelbay.core.catalog import ModelSpec, ResolvedModel
from modelbay.core.errors import BadInput
from modelbay.tasks.image_to_text.compose import COMPOSED_PREFIX
from modelbay.tasks.image_to_text.task import ImageToText

pytest.importorskip("rapidocr_onnxruntime")
pytestmark = pytest.mark.models("image-to-text")


@pytest.fixture(scope="module")
def composed(loaded_task):
    return loaded_task("image-to-text")


def png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def spec(name: str, path, options: dict) -> ResolvedModel:
    s = ModelSpec(name=name, task="image-to-text", languages=["en"], sources=[f"local:{path}"], license="MIT",
                  origin="built in the test", size_mb=0.0, options=options)
    return ResolvedModel(spec=s, path=path, source=f"local:{path}")


def test_composed_description_is_labelled_and_built_from_its_parts(composed):
    sign = ImageToText.examples()[1]
    out = composed([composed.coerce(sign)])[0]
    assert out.method == "composed" and out.text.startswith(COMPOSED_PREFIX)
    assert "OPEN" in (out.parts.text_in_image or "") and "OPEN" in out.text
    assert all(x.score >= 0.1 for x in out.parts.labels)
    assert out.parts.model == "image-to-text-composed" and out.parts.caption is None


def test_a_part_that_is_off_or_missing_is_left_out_and_said(tmp_path):
    task = ImageToText()
    task.setup(spec("composed-ocr-only", tmp_path, {"backend": "composed", "classifier": "none", "detector": "no-such-model"}))
    assert set(task.parts) == {"ocr"}
    assert any("image-classification: turned off" in n for n in task.notes)
    assert any(n.startswith("object-detection: left out") and "no-such-model" in n for n in task.notes)
    out = task([task.coerce(ImageToText.examples()[1])])[0]
    assert out.parts.labels == [] and out.parts.objects == [] and out.parts.notes == task.notes
    assert out.text == f'{COMPOSED_PREFIX}: text in the image: "{out.parts.text_in_image}".'


def test_truncated_image_is_a_4xx(composed):
    data = ImageToText.examples()[0]
    with pytest.raises(BadInput, match="cannot decode|truncated"):
        composed([composed.coerce(data[: len(data) // 2])])


@pytest.fixture(scope="module")
def tiny_caption_dir(tmp_path_factory):
    """A 2-layer ViT encoder + GPT-2 decoder with a 12-word tokenizer, saved like a hub snapshot."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        GPT2Config,
        PreTrainedTokenizerFast,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    path = tmp_path_factory.mktemp("tiny-caption")
    words = ["[PAD]", "[BOS]", "[EOS]", "[UNK]", "a", "cat", "dog", "on", "the", "red", "mat", "sofa"]
    vocab = {w: i for i, w in enumerate(words)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="[BOS]", eos_token="[EOS]", pad_token="[PAD]",
                            unk_token="[UNK]").save_pretrained(path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    encoder = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)
    decoder = GPT2Config(vocab_size=len(words), n_embd=32, n_layer=2, n_head=2, n_positions=64, bos_token_id=1,
                         eos_token_id=2, pad_token_id=0, add_cross_attention=True, is_decoder=True)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 1, 0, 2
    torch.manual_seed(0)
    model = VisionEncoderDecoderModel(config)
    model.generation_config.decoder_start_token_id, model.generation_config.pad_token_id = 1, 0
    model.generation_config.eos_token_id = 2
    model.save_pretrained(path)
    return path


@pytest.mark.slow  # imports transformers' vision models
def test_caption_model_path_runs_a_local_vision_encoder_decoder(tiny_caption_dir):
    import torch
    from PIL import Image
    from transformers import AutoTokenizer, VisionEncoderDecoderModel, ViTImageProcessor

    task = ImageToText()
    task.setup(spec("tiny-caption", tiny_caption_dir, {"backend": "caption"}))
    images = [Image.new("RGB", (64, 48), c) for c in ("red", "navy")]
    items = [task.coerce({"image": png(img), "max_new_tokens": 6}) for img in images]
    outs = task(items)
    assert [o.method for o in outs] == ["caption-model"] * 2
    # the same captions as transformers' own generate on the same folder: the task wires it faithfully
    model = VisionEncoderDecoderModel.from_pretrained(tiny_caption_dir).eval()
    pixels = ViTImageProcessor.from_pretrained(tiny_caption_dir)(images=images, return_tensors="pt").pixel_values
    with torch.inference_mode():
        ids = model.generate(pixel_values=pixels, max_new_tokens=6, do_sample=False, num_beams=1)
    expected = [" ".join(t.split()) for t in AutoTokenizer.from_pretrained(tiny_caption_dir).batch_decode(ids, skip_special_tokens=True)]
    assert [o.text for o in outs] == expected
    assert all(o.parts.caption == o.text and len(o.text.split()) <= 6 for o in outs)
    assert any(o.text for o in outs) and all(set(o.text.split()) <= {"a", "cat", "dog", "on", "the", "red", "mat", "sofa"} for o in outs)
    assert [task([item])[0].text for item in items] == expected  # batch of one agrees with the batch


@pytest.mark.slow  # imports transformers' vision models
def test_an_installed_caption_model_is_used_instead_of_composing(tiny_caption_dir, tmp_path, fresh_settings):
    """The composed spec names a caption model; once one with that name resolves (here a user catalog spec
    pointing at the tiny local model), setup runs it instead, and says nothing of composing."""
    catalog = fresh_settings().home / "catalog"
    catalog.mkdir(parents=True)
    (catalog / "tiny-caption.yaml").write_text(
        f"name: tiny-caption\ntask: image-to-text\nlanguages: [en]\nsources: ['local:{tiny_caption_dir}']\n"
        "license: MIT\norigin: built in the test\nsize_mb: 0.0\noptions: {backend: caption}\n", encoding="utf-8")
    task = ImageToText()
    task.setup(spec("composed-with-caption", tmp_path, {"backend": "composed", "caption_model": "tiny-caption"}))
    out = task([task.coerce(ImageToText.examples()[0])])[0]
    assert out.method == "caption-model" and out.parts.model == "tiny-caption" and not out.parts.notes

    task = ImageToText()
    task.setup(spec("composed-without", tmp_path, {"backend": "composed", "caption_model": "no-such-caption-model",
                                                    "classifier": "none", "detector": "none", "ocr": "none"}))
    out = task([task.coerce(ImageToText.examples()[0])])[0]
    assert out.method == "composed" and any("no-such-caption-model" in n for n in out.parts.notes)
    assert out.text == f"{COMPOSED_PREFIX}: nothing was recognised with confidence."
