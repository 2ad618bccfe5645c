"""Pictures of face-verification results: the two photos side by side with the compared faces boxed."""

from __future__ import annotations

from .common import decoded

#: both photos are scaled to this height before they are put side by side
PANEL_HEIGHT_PX = 480


def render_verification(item, output) -> bytes:
    from PIL import Image

    from ...ml.vision.draw import draw_boxes, png_bytes

    panels = []
    pairs = [("image", output.face)]
    if output.action == "verify":
        pairs.append(("compare_to", output.compare_face))
    label = _label(output)
    for field, box in pairs:
        value = getattr(item, field)
        if value is None:
            continue
        image, _ = decoded(value, field)
        scale = PANEL_HEIGHT_PX / image.height  # scaled first, so labels are drawn at a readable size
        image = image.resize((max(1, round(image.width * scale)), PANEL_HEIGHT_PX), Image.BILINEAR)
        if box is not None:
            image = draw_boxes(image, [[v * scale for v in box.xyxy()]], [label], keys=[_key(output)])
        panels.append(image)
    if not panels:  # remove: nothing to show but the result
        panels.append(Image.new("RGB", (PANEL_HEIGHT_PX, PANEL_HEIGHT_PX // 4), "white"))
        panels[0] = draw_boxes(panels[0], [(0, PANEL_HEIGHT_PX // 4 - 1, 1, PANEL_HEIGHT_PX // 4)], [label])
    gap_px = 8
    canvas = Image.new("RGB", (sum(p.width for p in panels) + gap_px * (len(panels) - 1), panels[0].height), "white")
    x = 0
    for panel in panels:
        canvas.paste(panel, (x, 0))
        x += panel.width + gap_px
    return png_bytes(canvas)


def _label(output) -> str:
    if output.action == "verify" and output.distance is not None:
        if output.same_person:
            return f"same: {output.distance:.2f} <= {output.threshold:.2f}"
        return f"different: {output.distance:.2f} > {output.threshold:.2f}"
    if output.action == "search" and output.matches:
        best = output.matches[0]
        return f"{best.identity if best.same_person else 'unknown'} {best.distance:.2f}"
    return output.summary()


def _key(output) -> str:
    same = output.same_person if output.action == "verify" else bool(output.matches and output.matches[0].same_person)
    return "match" if same else "no-match"
