"""Patterns of key fields in English and Chinese documents: labels, and values parsed into types.

Values are parsed by functions that return ``None`` when a string is not one (so a label followed
by the wrong kind of value finds nothing rather than something wrong).
"""

from __future__ import annotations

import re
from datetime import date

CURRENCY_SIGNS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "元": "CNY", "RMB": "CNY",
                  "USD": "USD", "EUR": "EUR", "GBP": "GBP", "CNY": "CNY", "JPY": "JPY", "HKD": "HKD", "CAD": "CAD", "AUD": "AUD"}
_CUR = r"(?:US\$|\$|€|£|¥|￥|RMB|USD|EUR|GBP|CNY|JPY|HKD|CAD|AUD)"
_NUM = r"[-−]?\d{1,3}(?:[,，]\d{3})+(?:\.\d{1,2})?|[-−]?\d+(?:\.\d{1,2})?"
AMOUNT = re.compile(rf"(?P<pre>{_CUR})?\s*(?P<num>{_NUM})\s*(?P<post>{_CUR}|元)?")

#: label kinds and their words, most specific first (a "subtotal" is not a "total")
LABELS: dict[str, tuple[str, ...]] = {
    "invoice_number": ("invoice number", "invoice no", "invoice #", "invoice id", "inv no", "inv. no", "bill no",
                       "receipt no", "发票号码", "发票号", "票据号码", "单据号", "单号"),
    "invoice_code": ("发票代码",),
    "total": ("价税合计", "grand total", "total due", "amount due", "balance due", "total amount", "总计", "应付金额",
              "合计金额", "total", "合计"),
    "subtotal": ("subtotal", "sub-total", "sub total", "小计", "金额合计", "不含税金额"),
    "tax": ("vat", "tax", "gst", "税额", "税金"),
    "amount": ("amount", "price", "金额", "单价", "价格"),
    "date": ("invoice date", "issue date", "date of issue", "开票日期", "日期", "date"),
    "due_date": ("due date", "payment due", "到期日", "付款期限"),
    "phone": ("phone", "tel", "telephone", "mobile", "电话", "手机", "联系电话"),
    "email": ("email", "e-mail", "邮箱", "电子邮件"),
}
#: the value kind each label kind expects
VALUE_KIND = {"invoice_number": "id", "invoice_code": "id", "total": "amount", "subtotal": "amount", "tax": "amount",
              "amount": "amount", "date": "date", "due_date": "date", "phone": "phone", "email": "email"}

ID = re.compile(r"(?:No\.?\s*)?[#:：.\s]*(?P<id>[A-Z0-9][A-Z0-9\-/_.]{2,31})", re.IGNORECASE)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[\s-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s-])?\d{3,4}[\s-]?\d{4}(?![\w.])|"
                   r"(?<!\d)1[3-9]\d{9}(?!\d)")
MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日?"),
    re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4})(?!\d)"),
    re.compile(r"(?<![A-Za-z])(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"),
    re.compile(r"(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+(?P<y>\d{4})"),
)


def find_label(text: str) -> tuple[str, str, int] | None:
    """``(kind, label word, end offset)`` of the first label in a line (most specific word first), or None.

    >>> find_label("Invoice No: INV-2024-001")
    ('invoice_number', 'invoice no', 10)
    """
    low = text.lower()
    best = None
    for kind, words in LABELS.items():
        for word in words:
            at = _word_at(low, word)
            if at >= 0 and (best is None or at < best[2] - len(best[1]) or (at == best[2] - len(best[1]) and len(word) > len(best[1]))):
                best = (kind, word, at + len(word))
    return best


def _word_at(low: str, word: str) -> int:
    if not word.isascii():
        return low.find(word)
    m = re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low)
    return m.start() if m else -1


def parse_amount(text: str) -> tuple[float, str | None, str] | None:
    """``(value, currency or None, matched text)`` of the first money amount in ``text``.

    >>> parse_amount("Total: $1,250.00")
    (1250.0, 'USD', '$1,250.00')
    >>> parse_amount("价税合计 ￥1,130.00")
    (1130.0, 'CNY', '￥1,130.00')
    """
    for m in AMOUNT.finditer(text):
        num = m.group("num").replace(",", "").replace("，", "").replace("−", "-")
        sign = m.group("pre") or m.group("post")
        if not sign and "." not in num and not re.fullmatch(r"\d{1,3}(?:[,，]\d{3})+", m.group("num")):
            continue  # a bare integer is a quantity, an id or a year more often than money
        if _inside_date(text, m.start("num"), m.end("num")):
            continue
        return round(float(num), 2), CURRENCY_SIGNS.get(sign) if sign else None, m.group(0).strip()
    return None


def _inside_date(text: str, start: int, end: int) -> bool:
    return any(d.start() <= start and end <= d.end() for p in DATE_PATTERNS for d in p.finditer(text))


def parse_dates(text: str, day_first: bool = False) -> list[tuple[str, str]]:
    """``(ISO date, matched text)`` of every valid date in ``text``; ``d/m/y`` when ``day_first`` (or the day is > 12).

    >>> parse_dates("开票日期：2024年1月5日")
    [('2024-01-05', '2024年1月5日')]
    >>> parse_dates("Date: March 3, 2023 and 04/05/2023")
    [('2023-03-03', 'March 3, 2023'), ('2023-04-05', '04/05/2023')]
    """
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            iso = _iso(m.groupdict(), day_first)
            if iso:
                found.append((m.start(), iso, m.group(0).strip()))
                taken.append((m.start(), m.end()))
    return [(iso, raw) for _, iso, raw in sorted(found)]


def _iso(g: dict, day_first: bool) -> str | None:
    try:
        year = int(g["y"])
        if g.get("mon"):
            month = MONTHS.get(g["mon"][:3].lower())
            day = int(g["d"])
        elif g.get("a"):
            a, b = int(g["a"]), int(g["b"])
            month, day = (b, a) if (day_first or a > 12) else (a, b)
        else:
            month, day = int(g["m"]), int(g["d"])
        if not month or not 1900 <= year <= 2199:
            return None
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_id(text: str) -> str | None:
    """An invoice number after its label: letters/digits with dashes or slashes, at least one digit.

    >>> parse_id(": INV-2024-0042")
    'INV-2024-0042'
    """
    for m in ID.finditer(text):
        value = m.group("id").strip(".")
        if any(ch.isdigit() for ch in value):
            return value
    return None


def parse_phone(text: str) -> str | None:
    """The first phone number: ``+`` and digits only (``+1 (555) 010-2000`` -> ``+15550102000``)."""
    m = PHONE.search(text)
    if not m:
        return None
    digits = re.sub(r"\D", "", m.group(0))
    return ("+" if m.group(0).lstrip().startswith("+") else "") + digits if len(digits) >= 7 else None


def parse_email(text: str) -> str | None:
    m = EMAIL.search(text)
    return m.group(0) if m else None
