"""An offline description of a photo composed from other tasks: image-classification, object-detection, OCR.

Nothing here is a caption model: the sentence is assembled from the parts' outputs and says so. The
parts run through ``modelbay.core.loading.load_task`` (capabilities never import each other); a part
whose task is not registered or whose model is not installed is left out and named in ``notes``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

COMPOSED_PREFIX = "Composed description (no caption model)"
PARTS = (("classifier", "image-classification"), ("detector", "object-detection"), ("ocr", "ocr"))


def load_parts(options: dict[str, Any], device: str) -> tuple[dict[str, Any], list[str]]:
    """The part tasks that load (keyed by option name) and notes on those that do not."""
    from ...core.errors import ModelbayError
    from ...core.loading import load_task
    from ...core.registry import task_names

    loaded, notes = {}, []
    for key, task in PARTS:
        model = options.get(key, "default")
        if model in (None, False, "none"):
            notes.append(f"{task}: turned off (options.{key})")
            continue
        if task not in task_names():
            notes.append(f"{task}: not available in this installation, left out")
            continue
        try:
            loaded[key] = load_task(task, None if model == "default" else str(model), device)
        except (ModelbayError, ImportError, OSError) as exc:
            notes.append(f"{task}: left out ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")
    return loaded, notes


def describe(parts: dict[str, Any], image: bytes, min_score: float) -> dict[str, Any]:
    """Run each loaded part on ``image`` and compose ``{"text", "labels", "objects", "text_in_image"}``."""
    labels, objects, ocr_text = [], [], None
    if "classifier" in parts:
        task = parts["classifier"]
        out = task([task.coerce({"image": image, "top_k": 3})])[0]
        labels = [{"label": x.label, "score": round(float(x.score), 4)} for x in out.labels if x.score >= min_score]
    if "detector" in parts:
        task = parts["detector"]
        out = task([task.coerce({"image": image, "score_threshold": max(min_score, 0.3)})])[0].model_dump()
        counts = Counter(d["label"] for d in out.get("detections", []))
        best = {}
        for d in out.get("detections", []):
            best[d["label"]] = max(best.get(d["label"], 0.0), float(d["score"]))
        objects = [{"label": k, "count": n, "score": round(best[k], 4)} for k, n in counts.most_common()]
    if "ocr" in parts:
        task = parts["ocr"]
        ocr_text = " ".join(task([task.coerce({"image": image})])[0].text.split()) or None
    return {"text": sentence(labels, objects, ocr_text), "labels": labels, "objects": objects, "text_in_image": ocr_text}


def sentence(labels: list[dict], objects: list[dict], ocr_text: str | None, max_text_chars: int = 200) -> str:
    """One labelled sentence from the parts.

    >>> sentence([{"label": "tabby", "score": 0.61}], [{"label": "cat", "count": 2, "score": 0.9}], "HELLO")
    'Composed description (no caption model): it looks like a tabby (61%); objects detected: 2 cats; text in the image: "HELLO".'
    """
    bits = []
    if labels:
        bits.append("it looks like " + " or ".join(f"{_article(x['label'])} {x['label']} ({x['score']:.0%})" for x in labels))
    if objects:
        bits.append("objects detected: " + ", ".join(f"{o['count']} {_plural(o['label'], o['count'])}" for o in objects))
    if ocr_text:
        shown = ocr_text if len(ocr_text) <= max_text_chars else ocr_text[: max_text_chars - 1] + "…"
        bits.append(f'text in the image: "{shown}"')
    if not bits:
        bits.append("nothing was recognised with confidence")
    return f"{COMPOSED_PREFIX}: " + "; ".join(bits) + "."


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _plural(word: str, count: int) -> str:
    if count == 1:
        return word
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")
