"""``modelbay train face-verification``: calibrate the same-person distance threshold on your labelled pairs.

The embedding network stays dlib's (retraining a face ResNet needs millions of faces); what depends
on your cameras, lighting and people is where "same" ends. From a table of pairs

    image,compare_to,same            (image_a,image_b,same works too)
    people/ada_1.jpg,people/ada_2.jpg,true
    people/ada_1.jpg,people/bob_1.jpg,false

every photo's largest face is embedded once, each pair's distance measured, and the threshold chosen:
the most accurate one by default, or with ``target_far`` (e.g. 0.001) the largest whose false accept
rate on your different-person pairs is at most that. The model directory holds only a card: its
options name the catalog model whose weights it runs (``base_model``) and the ``threshold``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ...core.errors import BadInput

IMAGE_COLUMNS = (("image", "image_a"), ("compare_to", "image_b"))
LABEL_COLUMNS = ("same", "label", "is_same", "match")
SHARED_PHOTOS = "validation pairs may reuse a calibration pair's photo (only the threshold is fitted, not the embedding)"


def read_pairs(path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"image": path, "compare_to": path, "same": bool}`` per row; relative paths are from the table's folder."""
    from ...data.loaders import read_labelled_table, read_table
    from ...ml.metrics.verification import same_label

    rows = read_table(Path(path), options.get("format"))
    if not rows:
        raise BadInput(f"{path}: no pairs")
    present = list(rows[0][1])
    first = _column(present, options.get("image_col"), IMAGE_COLUMNS[0], path)
    second = _column(present, options.get("compare_col"), IMAGE_COLUMNS[1], path)
    label = _column(present, options.get("label_col"), LABEL_COLUMNS, path)
    records = read_labelled_table(path, input_field="image", target_field="same", input_col=first, target_col=label,
                                  fmt=options.get("format"), path_fields=("image",))
    seconds = read_labelled_table(path, input_field="compare_to", target_field="same", input_col=second,
                                  target_col=label, fmt=options.get("format"), path_fields=("compare_to",))
    return [{"image": r["image"], "compare_to": s["compare_to"], "same": same_label(r["same"], f"{path}: row {i + 2}")}
            for i, (r, s) in enumerate(zip(records, seconds))]


def _column(present: list[str], chosen: str | None, candidates: tuple[str, ...], path) -> str:
    if chosen:
        return chosen
    for name in candidates:
        if name in present:
            return name
    raise BadInput(f"{path}: no column {' or '.join(repr(c) for c in candidates)}; columns present: {', '.join(present)}",
                   hint="name them with image_col, compare_col and label_col")


def pair_distances(task, records: list[dict[str, Any]], detector: str, tick) -> list[float | None]:
    """Distance of each pair (None: a photo without a face); each distinct photo is embedded once."""
    import numpy as np

    from ...core.media import media_bytes

    vectors: dict[str, Any] = {}
    paths = list(dict.fromkeys(p for r in records for p in (r["image"], r["compare_to"])))
    for done, path in enumerate(paths, 1):
        data = media_bytes(path, kind="image", field="image", allow_paths=True)
        _, vector, _ = task.largest_face(data, "image", detector)
        vectors[path] = None if vector is None else np.asarray(vector, dtype=np.float64)
        tick(done)
    out = []
    for r in records:
        a, b = vectors[r["image"]], vectors[r["compare_to"]]
        out.append(None if a is None or b is None else round(float(np.linalg.norm(a - b)), 6))
    return out


def choose_threshold(same: list[bool], distances: list[float], target_far: float | None) -> float:
    """The most accurate threshold, or the largest whose FAR on these pairs is at most ``target_far``."""
    from ...ml.metrics.verification import best_threshold, tar_at_far

    if target_far is not None:
        return tar_at_far(same, distances, float(target_far))[1]
    return best_threshold(same, distances)[0]


def calibrate(cls, data, out_dir, options: dict[str, Any], progress=False, *, name: str = "model") -> dict[str, Any]:
    """Fit the threshold on part of the pairs, score it on the rest, write ``out_dir`` (a card only); return the card.

    ``options``: ``target_far``, ``val_fraction`` (0.25; 0 fits on every pair), ``seed``, ``detector``,
    ``base_model``, and the table's ``image_col``/``compare_col``/``label_col``/``format``.
    """
    from ...core.catalog import resolve
    from ...ml.fingerprint import data_fingerprint
    from ...ml.metrics.verification import verification_scores
    from ...ml.model_dir import atomic_model_dir, utc_timestamp, write_card
    from ...ml.progress import reporter
    from ...ml.splits import split_card, stratified_split, validation_warnings
    from .model import DLIB_THRESHOLD

    started = time.perf_counter()
    base_name, detector = str(options.pop("base_model", cls.default_model)), str(options.pop("detector", "hog"))
    target_far, seed = options.pop("target_far", None), int(options.pop("seed", 0))
    val_fraction = float(options.pop("val_fraction", 0.25))
    records = read_pairs(Path(data), options)
    same = [r["same"] for r in records]
    if all(same) or not any(same):
        raise BadInput(f"{data}: calibration needs both same-person and different-person pairs")
    task = cls()
    task.setup(resolve(base_name))
    with reporter(progress) as report:
        tick = report.stage("embedding faces", len({p for r in records for p in (r["image"], r["compare_to"])}))
        distances = [float("inf") if d is None else d for d in pair_distances(task, records, detector, tick)]
    fit, held = stratified_split(same, val_fraction, seed) if val_fraction > 0 else (list(range(len(records))), [])
    threshold = choose_threshold(_pick(fit, same), _pick(fit, distances), target_far)
    metrics = {"calibration_pairs": verification_scores(_pick(fit, same), _pick(fit, distances), threshold)}
    if held:
        metrics["validation"] = verification_scores(_pick(held, same), _pick(held, distances), threshold)
        metrics["validation_at_dlib_threshold"] = verification_scores(_pick(held, same), _pick(held, distances), DLIB_THRESHOLD)
    card = {
        "name": name, "task": cls.name, "created": utc_timestamp(), "base": base_name,
        "description": f"{base_name} with its same-person threshold calibrated on pairs of {Path(data).name}",
        "data": {**data_fingerprint(data), "pairs": len(records), "same_pairs": sum(same),
                 "no_face_pairs": sum(d == float("inf") for d in distances),
                 "split": split_card(seed, val_fraction, len(fit), len(held), stratified_by="same")},
        "options": {"backend": task.faces.options.get("backend", "dlib"), "base_model": base_name,
                    "threshold": round(float(threshold), 6)},
        "config": {"target_far": target_far, "detector": detector,
                   "rule": "max accuracy" if target_far is None else "largest threshold with FAR <= target_far"},
        "metrics": metrics,
        "warnings": [*validation_warnings(len(held), "pairs"), SHARED_PHOTOS],
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    with atomic_model_dir(out_dir) as tmp:
        write_card(tmp, card)
    return card


def _pick(indices: list[int], values: list) -> list:
    return [values[i] for i in indices]
