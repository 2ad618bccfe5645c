"""The package's shape, checked: import directions (import-linter), module and function sizes.

The contracts live in pyproject.toml ``[tool.importlinter]``: layers
``cli -> serve/api -> train/evaluate -> tasks -> ml/data -> core``, capability folders that never
import each other, and no import cycle between any two modules. docs/architecture.md explains them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "modelbay"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _sizes() -> tuple[list[str], list[str]]:
    long_modules, long_functions = [], []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(SRC)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(f"{where}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{where}:{node.lineno} {node.name}: {length} lines")
    return long_modules, long_functions


def test_modules_and_functions_stay_small():
    long_modules, long_functions = _sizes()
    assert not long_modules, f"modules over {MAX_MODULE_LINES} lines: {long_modules}"
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines: {long_functions}"


def test_the_size_check_can_fail(tmp_path, monkeypatch):
    (tmp_path / "big.py").write_text("def f():\n" + "    x = 1\n" * 70, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    assert _sizes() == ([], ["big.py:1 f: 71 lines"])
