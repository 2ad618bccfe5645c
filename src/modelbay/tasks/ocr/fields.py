"""Key fields from OCR lines by patterns and layout: a label's value is after it on its line, else the
nearest line to its right in the same row, else the nearest line below it (as in forms and invoices).

Every field records where it came from: page, line index (in that page's reading order), the line's
text and box, and the label that named it (None for a value found without one, e.g. an email).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import patterns as P

#: label kinds in the order a document's "total" is chosen: the price-and-tax total before a plain "total"
TOTAL_WORDS = P.LABELS["total"]


@dataclass
class Found:
    kind: str                      # label kind (patterns.LABELS) or the value kind when unlabelled
    value: Any                     # str (id, ISO date, phone, email) or (amount, currency)
    text: str                      # the matched text
    label: str | None              # the label word that named it
    page: int
    line: int
    line_text: str
    box: list[float]


def _parse(kind: str, text: str, day_first: bool):
    """``(value, matched text)`` of a value of ``kind`` in ``text``, or None."""
    if kind == "amount":
        hit = P.parse_amount(text)
        return ((hit[0], hit[1]), hit[2]) if hit else None
    if kind == "date":
        dates = P.parse_dates(text, day_first)
        return dates[0] if dates else None
    if kind == "id":
        value = P.parse_id(text)
        return (value, value) if value else None
    parse = P.parse_phone if kind == "phone" else P.parse_email
    value = parse(text)
    return (value, value) if value else None


def _neighbours(lines, i: int) -> list[int]:
    """Lines to the right of line ``i`` in its row (nearest first), then lines just below it (nearest first)."""
    x0, y0, x1, y1 = lines[i].box
    height = max(1.0, y1 - y0)
    right, below = [], []
    for j, other in enumerate(lines):
        if j == i:
            continue
        ox0, oy0, ox1, oy1 = other.box
        centre = (oy0 + oy1) / 2
        if y0 - 0.3 * height <= centre <= y1 + 0.3 * height and ox0 >= x1 - 0.2 * height:
            right.append((ox0 - x1, j))
        elif y1 - 0.3 * height <= oy0 <= y1 + 2.5 * height and ox0 < x1 + 2 * height and ox1 > x0 - 2 * height:
            below.append((oy0 - y1, abs(ox0 - x0), j))
    return [j for _, j in sorted(right)] + [j for _, _, j in sorted(below)]


def _labelled(page: int, lines, day_first: bool) -> tuple[list[Found], set[tuple[int, int]]]:
    found, id_lines = [], set()
    for i, line in enumerate(lines):
        label = P.find_label(line.text)
        if label is None:
            continue
        kind, word, end = label
        value_kind = P.VALUE_KIND[kind]
        hit, where = _parse(value_kind, line.text[end:], day_first), i
        if hit is None:
            for j in _neighbours(lines, i):
                if P.find_label(lines[j].text) is not None and value_kind != "amount":
                    continue  # another label's line holds that label's value
                hit = _parse(value_kind, lines[j].text, day_first)
                if hit is not None:
                    where = j
                    break
        if hit is not None:
            src = lines[where]
            found.append(Found(kind, hit[0], hit[1], word, page, where, src.text, list(src.box)))
            if value_kind == "id":
                id_lines.add((page, where))
    return found, id_lines


def _unlabelled(page: int, lines, day_first: bool, claimed: set[tuple[str, Any]], id_lines: set[tuple[int, int]]) -> list[Found]:
    """Dates, emails, phone numbers and currency amounts anywhere, when no label claimed them.

    Without a label a phone number must look like one: ``+`` or ``(`` in it, or 10 digits or more, and
    not on the line of an invoice number (whose digits would otherwise pass).
    """
    found = []
    for i, line in enumerate(lines):
        items: list[tuple[str, Any, str]] = [("date", iso, raw) for iso, raw in P.parse_dates(line.text, day_first)]
        email = P.parse_email(line.text)
        if email:
            items.append(("email", email, email))
        phone = P.parse_phone(line.text) if (page, i) not in id_lines else None
        if phone and (phone.startswith("+") or "(" in line.text or len(phone) >= 10):
            items.append(("phone", phone, phone))
        amount = P.parse_amount(line.text)
        if amount and amount[1]:
            items.append(("amount", (amount[0], amount[1]), amount[2]))
        for kind, value, raw in items:
            if (kind, _key(value)) not in claimed:
                found.append(Found(kind, value, raw, None, page, i, line.text, list(line.box)))
                claimed.add((kind, _key(value)))
    return found


def _key(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) else value


def extract(pages, day_first: bool = False) -> dict[str, list[Found] | Found | None]:
    """Fields of OCR pages (objects with ``.page`` and ``.lines`` of ``.text``/``.box``), grouped by type."""
    labelled: list[Found] = []
    id_lines: set[tuple[int, int]] = set()
    for page in pages:
        found, ids = _labelled(page.page, page.lines, day_first)
        labelled += found
        id_lines |= ids
    claimed = {(P.VALUE_KIND[f.kind], _key(f.value)) for f in labelled}
    loose: list[Found] = []
    for page in pages:
        loose += _unlabelled(page.page, page.lines, day_first, claimed, id_lines)
    by_kind = lambda *kinds: [f for f in labelled + loose if f.kind in kinds]
    totals = sorted(by_kind("total"), key=lambda f: TOTAL_WORDS.index(f.label) if f.label in TOTAL_WORDS else 99)
    ids = by_kind("invoice_number")
    return {
        "invoice_number": ids[0] if ids else None,
        "invoice_code": next(iter(by_kind("invoice_code")), None),
        "dates": by_kind("date", "due_date"),
        "amounts": by_kind("total", "subtotal", "tax", "amount"),
        "total": totals[0] if totals else None,
        "phone_numbers": by_kind("phone"),
        "emails": by_kind("email"),
    }
