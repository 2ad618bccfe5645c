"""``pytest --memory-report=FILE``: each test module's peak memory and time, for docs/benchmarks.md.

One tab-separated line per module: its wall time, the peak resident memory of the pytest process
while it ran (Linux resets the peak on request, ``/proc/self/clear_refs``), and the resident memory
left when it ended -- what the next modules start from. The last line is the session's peak (the
largest module peak). Resetting the kernel's peak also resets what ``/usr/bin/time`` reports as
"Maximum resident set size" (it reads that peak when the process exits): with this option on,
read the SESSION line instead. Where /proc is missing the columns are 0; nothing here changes
what a test does.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest


def _status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # 5: reset VmHWM to the current RSS
    except OSError:
        pass


class MemoryReport:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.rows: list[str] = []
        self.module: str | None = None
        self.started = time.perf_counter()
        self.session_started = self.started
        self.session_peak_mb = 0.0

    def next_test(self, nodeid: str) -> None:
        module = nodeid.split("::", 1)[0]
        if module != self.module:
            self.close_module()
            self.module, self.started = module, time.perf_counter()
            _reset_peak()

    def close_module(self) -> None:
        if self.module is None:
            return
        peak = _status_mb("VmHWM")
        self.session_peak_mb = max(self.session_peak_mb, peak)
        self.rows.append(f"{self.module}\t{time.perf_counter() - self.started:.1f}\t{peak:.0f}\t{_status_mb('VmRSS'):.0f}")
        self.module = None

    def write(self) -> None:
        self.close_module()
        header = "module\tseconds\tpeak_rss_mb\trss_after_mb"
        total = f"SESSION\t{time.perf_counter() - self.session_started:.1f}\t{self.session_peak_mb:.0f}\t{_status_mb('VmRSS'):.0f}"
        self.path.write_text("\n".join([header, *self.rows, total]) + "\n")


def pytest_addoption(parser):
    parser.addoption("--memory-report", metavar="FILE", default=None,
                     help="write each test module's time and peak RSS to FILE (see tests/memory_report.py)")


def pytest_configure(config):
    path = config.getoption("--memory-report")
    if path:
        config._memory_report = MemoryReport(path)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    report = getattr(item.config, "_memory_report", None)
    if report is not None:
        report.next_test(item.nodeid)


def pytest_sessionfinish(session, exitstatus):
    report = getattr(session.config, "_memory_report", None)
    if report is not None:
        report.write()
