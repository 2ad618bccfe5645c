"""RapidOCR (PP-OCRv4 ONNX) on one image, and the reading order of what it finds.

A line is ``(polygon, text, confidence)``: the polygon is the detector's rotated quadrilateral
(4 points, clockwise from the text's top-left, in pixels of the image given). The detector and the
recogniser run as RapidOCR sets them up; its 0/180-degree angle classifier only proposes a second
reading (``recognise``). The angle of a line is read from its polygon's top edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Line:
    polygon: list[tuple[float, float]]
    text: str
    confidence: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        xs, ys = [p[0] for p in self.polygon], [p[1] for p in self.polygon]
        return min(xs), min(ys), max(xs), max(ys)

    @property
    def angle_deg(self) -> float:
        """Direction of the top edge, degrees counter-clockwise from horizontal (image y points down), in (-180, 180]."""
        (x0, y0), (x1, y1) = self.polygon[0], self.polygon[1]
        angle = round(-math.degrees(math.atan2(y1 - y0, x1 - x0)), 1) + 0.0  # + 0.0: no -0.0
        return angle + 360.0 if angle <= -180.0 else angle


def load_engine(model: Any):
    """A ``RapidOCR`` over the catalog model's three ONNX files (``options``: file names, detector limits, threads;
    threads default to ``MODELBAY_NUM_THREADS``, else onnxruntime's choice)."""
    from rapidocr_onnxruntime import RapidOCR

    from ...core.settings import get_settings

    opts = model.spec.options
    threads = int(opts.get("threads", 0)) or get_settings().num_threads or -1
    return RapidOCR(
        det_model_path=str(model.file(opts.get("det_model", "ch_PP-OCRv4_det_infer.onnx"))),
        cls_model_path=str(model.file(opts.get("cls_model", "ch_ppocr_mobile_v2.0_cls_infer.onnx"))),
        rec_model_path=str(model.file(opts.get("rec_model", "ch_PP-OCRv4_rec_infer.onnx"))),
        text_score=0.0,  # recognise() filters, after trying upside-down lines both ways
        max_side_len=int(opts.get("max_side_px", 2000)),
        det_limit_type=str(opts.get("det_limit_type", "max")),
        intra_op_num_threads=threads,
    )


def recognise(engine, pixels, min_confidence: float) -> list[Line]:
    """OCR lines of an RGB ``(h, w, 3)`` uint8 array, in reading order.

    Every line is recognised as detected; where the angle classifier says it is upside down, the
    turned crop is recognised too and the more confident reading wins. (Trusting the classifier
    alone, as RapidOCR does, turned whole lines of a plain English page into garbage: it called
    them 180 degrees with 0.93 confidence.) Every polygon starts at its text's own top-left corner, so
``angle_deg`` of text turned 90, 180 or 270 degrees says so.
    """
    import numpy as np

    bgr = np.ascontiguousarray(pixels[:, :, ::-1])  # RapidOCR reads arrays as OpenCV's BGR
    boxes, _ = engine(bgr, use_det=True, use_cls=False, use_rec=False)  # detection only: quads in image pixels
    if not boxes:
        return []
    quads = [np.asarray(quad, dtype=np.float32) for quad in boxes]
    crops = engine.get_crop_img_list(bgr, quads)  # each line straightened, once (RapidOCR would crop twice)
    recognised, _ = engine.text_rec(crops, False)
    readings = [(str(text), float(score), False) for text, score in recognised]
    _, cls_res, _ = engine.text_cls(list(crops))
    flipped = [i for i, (label, score) in enumerate(cls_res) if "180" in label and score > engine.text_cls.cls_thresh]
    if flipped:
        turned, _ = engine.text_rec([np.ascontiguousarray(np.rot90(crops[i], 2)) for i in flipped], False)
        for i, reading in zip(flipped, turned):
            if float(reading[1]) > readings[i][1]:
                readings[i] = (str(reading[0]), float(reading[1]), True)
    lines = []
    for quad, (text, score, upside_down) in zip(quads, readings):
        if score >= min_confidence and text.strip():
            points = [(round(float(x), 1), round(float(y), 1)) for x, y in quad]
            shift = (1 if _is_vertical(quad) else 0) + (2 if upside_down else 0)
            lines.append(Line(points[shift:] + points[:shift], text, round(score, 4)))
    return reading_order(lines)


def _is_vertical(quad) -> bool:
    """Whether RapidOCR turned this line's crop a quarter turn counter-clockwise before reading it (a tall crop).

    Its text then runs along the quadrilateral's right edge, so the text's top-left is the quad's second point.
    """
    import numpy as np

    width = max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3]))
    height = max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))
    return height >= 1.5 * width


def reading_order(lines: list[Line]) -> list[Line]:
    """Top to bottom, then left to right within a row.

    Lines join a row while their vertical centre lies within half the row's median height of
    the row's centre; rows are ordered by centre, lines in a row by their left edge.
    """
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (_centre_y(ln), ln.box[0])):
        if rows:
            row = rows[-1]
            height = sorted(_height(r) for r in row)[len(row) // 2]
            centre = sum(_centre_y(r) for r in row) / len(row)
            if abs(_centre_y(line) - centre) <= 0.5 * max(height, _height(line)):
                row.append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.box[0])]


def _centre_y(line: Line) -> float:
    box = line.box
    return (box[1] + box[3]) / 2


def _height(line: Line) -> float:
    """Text height: the polygon's left edge (a rotated line's box is taller than its text)."""
    (x0, y0), (x3, y3) = line.polygon[0], line.polygon[3]
    return max(1.0, math.hypot(x3 - x0, y3 - y0))


def join_lines(lines: list[Line]) -> str:
    """The page's text: lines of a row joined by a space (none between CJK), rows by newlines."""
    out: list[str] = []
    prev: Line | None = None
    for line in lines:
        if prev is None:
            out.append(line.text)
        elif abs(_centre_y(line) - _centre_y(prev)) <= 0.5 * max(_height(prev), _height(line)) and line.box[0] >= prev.box[0]:
            out.append(("" if _cjk(prev.text[-1:]) and _cjk(line.text[:1]) else " ") + line.text)
        else:
            out.append("\n" + line.text)
        prev = line
    return "".join(out)


def _cjk(ch: str) -> bool:
    return bool(ch) and ("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
