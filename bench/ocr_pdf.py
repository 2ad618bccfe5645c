"""OCR quality (CER/WER) and speed (pages/s) on public printed PDFs, modelbay's ocr vs a plain RapidOCR loop.

Ground truth nobody here wrote: each PDF's own text layer (pdfium's page text). Each page is rendered with
pypdfium2 at --dpi, and the picture is OCRed twice in the same run:

The three readings of a page run one after another, page by page, so a busy machine slows each alike.

* peer: the plain loop most people write: ``RapidOCR()`` with its defaults on the rendered page;
* modelbay: ``ocr`` with ``text_layer: false`` (detector never enlarges, the angle classifier only flips a
  line when the flipped reading is more confident, reading order by rows).

Data (Debian packages, nothing copied into the repository):

* English: debian-faq 11.1, /usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz (installed in CI);
* Chinese: debian-reference-zh-cn (bookworm), /usr/share/debian-reference/debian-reference.zh-cn.pdf, fetched
  with ``apt-get download debian-reference-zh-cn`` and unpacked with ``dpkg -x`` when not installed.

CER compares NFKC text with typographic quotes made plain and whitespace collapsed (English) or removed
(Chinese); "cer_nospace" also removes English spaces (PP-OCRv4 sometimes drops one between words);
"cer_hanzi" keeps only CJK ideographs (U+4E00..U+9FFF) on both sides.
Also printed: modelbay's default on the same pages (the text layer: what a PDF with one costs).

    .venv/bin/python bench/ocr_pdf.py --pages 11-16 --zh-pages 61-66
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import tempfile
import time
import unicodedata
from pathlib import Path

EN_PDF = Path("/usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz")
ZH_PDF = Path("/usr/share/debian-reference/debian-reference.zh-cn.pdf")
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u2014": "-", "\u2013": "-"})


def zh_pdf() -> bytes:
    if ZH_PDF.is_file():
        return ZH_PDF.read_bytes()
    work = Path(tempfile.mkdtemp(prefix="ocr-bench-"))
    subprocess.run(["apt-get", "download", "debian-reference-zh-cn"], cwd=work, check=True, capture_output=True)
    deb = next(work.glob("debian-reference-zh-cn_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(work / "x")], check=True)
    print(f"zh: {deb.name}")
    return (work / "x" / str(ZH_PDF).lstrip("/")).read_bytes()


def normalise(text: str, lang: str, keep_spaces: bool = True) -> str:
    text = unicodedata.normalize("NFKC", text).translate(QUOTES)
    if lang == "zh" or not keep_spaces:
        return "".join(text.split())
    return " ".join(text.split())


def _hanzi(text: str) -> str:
    return "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff")


def page_range(spec: str) -> list[int]:
    first, _, last = spec.partition("-")
    return list(range(int(first), int(last or first) + 1))


class Peer:
    """The plain loop: render a page with pypdfium2, OCR it with RapidOCR's defaults, join the lines."""

    def __init__(self, pdf: bytes) -> None:
        import pypdfium2 as pdfium
        from rapidocr_onnxruntime import RapidOCR

        self.engine, self.doc = RapidOCR(), pdfium.PdfDocument(pdf)

    def __call__(self, number: int, dpi: int) -> str:
        import numpy as np

        bgr = np.asarray(self.doc[number - 1].render(scale=dpi / 72).to_pil().convert("RGB"))[:, :, ::-1].copy()
        result, _ = self.engine(bgr)
        return "\n".join(r[1] for r in result or [])


def ours(task, pdf: bytes, number: int, dpi: int, text_layer: bool) -> str:
    return task([task.coerce({"image": pdf, "pages": str(number), "dpi": dpi, "text_layer": text_layer})])[0].text


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def run_pages(task, pdf: bytes, pages: list[int], dpi: int) -> dict:
    """Page by page, the three readings one after another (so a busy machine slows each alike)."""
    peer = Peer(pdf)
    texts: dict = {"layer": [], "mine": [], "peer": []}
    seconds = dict.fromkeys(texts, 0.0)
    for number in pages:
        for key, (fn, args) in {"layer": (ours, (task, pdf, number, dpi, True)),
                                "mine": (ours, (task, pdf, number, dpi, False)),
                                "peer": (peer, (number, dpi))}.items():
            text, s = timed(fn, *args)
            texts[key].append(text)
            seconds[key] += s
    return {"texts": texts, "seconds": seconds}


def score(truths: list[str], guesses: list[str], lang: str) -> dict:
    from modelbay.ml.metrics import speech

    m = speech([normalise(t, lang) for t in truths], [normalise(g, lang) for g in guesses])
    out = {"cer": round(m["cer"], 4), "wer": round(m["wer"], 4) if lang == "en" else None}
    if lang == "zh":  # the Chinese characters alone (the pages also hold English command lines)
        out["cer_hanzi"] = round(speech([_hanzi(t) for t in truths], [_hanzi(g) for g in guesses])["cer"], 4)
    if lang == "en":
        out["cer_nospace"] = round(speech([normalise(t, lang, False) for t in truths],
                                          [normalise(g, lang, False) for g in guesses])["cer"], 4)
    return out


def main() -> None:
    from modelbay.core.loading import load_task

    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default="11-16", help="English pages (debian-faq)")
    parser.add_argument("--zh-pages", default="61-66", help="Chinese pages (debian-reference zh-cn)")
    parser.add_argument("--dpi", type=int, default=200)
    args = parser.parse_args()
    task = load_task("ocr", None)
    for lang, pdf, pages in (("en", gzip.decompress(EN_PDF.read_bytes()), page_range(args.pages)),
                             ("zh", zh_pdf(), page_range(args.zh_pages))):
        r = run_pages(task, pdf, pages, args.dpi)
        truths, n, sec = r["texts"]["layer"], len(pages), r["seconds"]
        print(f"{lang} pages {pages[0]}-{pages[-1]} at {args.dpi} dpi ({sum(len(normalise(t, lang)) for t in truths)} reference chars)")
        print(f"  peer RapidOCR defaults : {score(truths, r['texts']['peer'], lang)}  {n / sec['peer']:.3f} pages/s")
        print(f"  modelbay ocr (OCR)     : {score(truths, r['texts']['mine'], lang)}  {n / sec['mine']:.3f} pages/s"
              f"  speed ratio {sec['peer'] / sec['mine']:.2f}x")
        print(f"  modelbay default (text layer): {n / sec['layer']:.1f} pages/s ({sec['peer'] / sec['layer']:.0f}x the peer)")


if __name__ == "__main__":
    main()
