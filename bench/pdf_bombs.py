"""PDF bombs: time and peak memory of reading one in the calling process (before) and through
``core.pdf_guard`` (now: a child process capped at 2 GiB opens it first).

    .venv/bin/python bench/pdf_bombs.py              # a 2.9 MB PDF whose one page unpacks to 3 GB
    .venv/bin/python bench/pdf_bombs.py --gb 0.4     # one under the cap: read, at the child's cost

Each case runs in its own process. "caller" is the peak RSS of the process that asked for the text
(the server's, in production); "child" is the guard's reader process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

_CASE = """
import json, resource, sys, time
from pathlib import Path
start = time.perf_counter()
if sys.argv[1] == "before":
    import pypdfium2 as pdfium
    pdf = pdfium.PdfDocument(sys.argv[2])
    outcome = f"read {sum(len(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf)))} characters"
else:
    from modelbay.kb.readers import read_document
    try:
        outcome = f"read {len(read_document(Path(sys.argv[2]))[1])} blocks"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc.message[:70]}"
usage = resource.getrusage
json.dump({"seconds": time.perf_counter() - start, "caller_mib": usage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "child_mib": usage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "outcome": outcome}, sys.stdout)
"""


def one_page_pdf(text: str, padding_bytes: int = 0) -> bytes:
    """A one-page PDF showing ``text``; its content stream ends in ``padding_bytes`` spaces (Flate: ~1000:1)."""
    packer = zlib.compressobj(6)
    stream = packer.compress(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET\n".encode())
    for _ in range(padding_bytes // 2**20):
        stream += packer.compress(b" " * 2**20)
    stream += packer.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>"),
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    pdf, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return pdf + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=3.0, help="what the page unpacks to, in GB")
    args = parser.parse_args()
    from _common import machine

    path = Path(tempfile.mkdtemp(prefix="mb-pdf-bomb-")) / "bomb.pdf"
    path.write_bytes(one_page_pdf("Hello", padding_bytes=int(args.gb * 1e9)))
    print(f"{machine()}\n{path.name}: {path.stat().st_size / 1e6:.1f} MB on disk, one page unpacking to {args.gb} GB")
    print(f"{'case':8} {'seconds':>8} {'caller MiB':>11} {'child MiB':>10}  outcome")
    for case in ("before", "guarded"):
        done = subprocess.run([sys.executable, "-c", _CASE, case, str(path)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{case:8} the process died (status {done.returncode}): {done.stderr.strip()[-200:]}")
            continue
        r = json.loads(done.stdout)
        print(f"{case:8} {r['seconds']:8.1f} {r['caller_mib']:11.0f} {r['child_mib']:10.0f}  {r['outcome']}")


if __name__ == "__main__":
    main()
