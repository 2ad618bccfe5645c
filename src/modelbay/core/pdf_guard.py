"""PDFs are first read by PDFium in a child process with a memory cap and a time limit.

PDFium decompresses a page's content streams whole. Measured here (``bench/pdf_bombs.py``): a 2.9 MB PDF
whose one page holds 3 GB of FlateDecode'd spaces took 3.9 GB of memory to read, so one upload under the
96 MB body limit could take the server's memory, and a malformed file can crash PDFium itself. The child opens the
document, reads the text of the pages asked for and, with ``render``, draws each at a tiny scale (which
decodes its images); if it runs out of its memory, crashes or runs out of time, the caller gets a
``BadInput`` and its own process never touched the file. Knowledge-base ingestion takes the page texts
from the child; OCR renders in its own process after the child has read the same pages.

>>> pdf_text_pages(Path("manual.pdf"), shown="manual.pdf").texts[0]  # doctest: +SKIP
'Opening hours\\r\\nThe shop opens at 9.'
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput

#: the child's address space (Python, PDFium and the document): a text PDF of thousands of pages needs far less
MAX_PDF_MEMORY_BYTES = 2 * 1024**3
#: wall-clock limit for reading the pages asked for
PDF_TIMEOUT_S = 300.0
#: a render that only decodes what the page draws (images included) into a few pixels
_PROBE_SCALE = 0.05

_CHILD = """
import json, resource, sys
cap = int(sys.argv[1])
try:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
except (ValueError, OSError):  # a platform that caps no address space (macOS): the child still isolates PDFium
    pass
import pypdfium2 as pdfium
source, wanted, render = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
texts, where = [], "the document"
try:
    pdf = pdfium.PdfDocument(sys.stdin.buffer.read() if source == "-" else source)
    count = len(pdf)
    for index in (range(count) if wanted is None else [i for i in wanted if 0 <= i < count]):
        where = f"page {index + 1}"
        page = pdf[index]
        texts.append(page.get_textpage().get_text_range())
        if render:
            page.render(scale=float(sys.argv[5]))
except MemoryError:
    raise
except Exception as exc:  # pdfium's errors on a damaged file or page tree
    json.dump({"unreadable": f"{where}: {exc}"}, sys.stdout)
    sys.exit(0)
json.dump({"count": count, "texts": texts}, sys.stdout)
"""


@dataclass(frozen=True)
class PdfPages:
    count: int  # pages in the document
    texts: list[str]  # the text layer of each page read, as PDFium gives it (CRLF line ends)


def pdf_text_pages(source: Path | bytes, *, shown: str, pages: list[int] | None = None, render: bool = False,
                   max_memory_bytes: int | None = None, timeout_s: float | None = None) -> PdfPages:
    """The page count and the text of ``pages`` (0-based; None: every page), read in a capped child process.

    ``shown`` names the document in errors (a file name, or ``image`` for a request field); the cap and the time
    limit default to :data:`MAX_PDF_MEMORY_BYTES` and :data:`PDF_TIMEOUT_S`.
    """
    max_memory_bytes = max_memory_bytes or MAX_PDF_MEMORY_BYTES
    timeout_s = timeout_s or PDF_TIMEOUT_S
    argv = [sys.executable, "-c", _CHILD, str(max_memory_bytes), "-" if isinstance(source, bytes) else str(source),
            json.dumps(pages), "1" if render else "0", str(_PROBE_SCALE)]
    try:
        done = subprocess.run(argv, input=source if isinstance(source, bytes) else b"", capture_output=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise BadInput(f"{shown}: reading the PDF took over {timeout_s:.0f} s",
                       hint="split it into smaller files, or check that it is not damaged") from None
    if done.returncode != 0 or not done.stdout:
        raise BadInput(f"{shown}: the PDF could not be read within {max_memory_bytes / 2**20:,.0f} MiB of memory "
                       f"(or it crashed the reader: status {done.returncode})",
                       hint="a page that unpacks to gigabytes (or a damaged file) is refused; "
                            "split the document or print it to a new PDF") from None
    result = json.loads(done.stdout)
    if "unreadable" in result:
        raise BadInput(f"{shown}: cannot open the PDF ({result['unreadable']})",
                       hint="the file looks truncated, encrypted or damaged; send the complete, unencrypted PDF")
    return PdfPages(count=result["count"], texts=result["texts"])
