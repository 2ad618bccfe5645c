"""TF.js graph models (``model.json`` + ``*.bin``) to ONNX, in a throw-away converter environment.

TensorFlow is needed only to convert, never to run: :func:`converter_python` builds a virtual
environment once, outside the project (``~/.cache/modelbay/converter-venv``, or
``MODELBAY_CONVERTER_VENV``), with the pinned ``CONVERTER_REQUIREMENTS``; :func:`convert_tfjs` runs
this very file in it as a script (``python tfjs_onnx.py in.json out.onnx``), so the script part
imports nothing of modelbay. onnxruntime then runs the result.

Some graphs that TF.js itself runs lack attributes TensorFlow insists on (``_FusedConv2D`` without
``TArgs``, ``TopKV2`` without ``index_type``): :func:`patch_graph` adds them before converting.
tf2onnx's output is not byte-for-byte reproducible (node order varies between runs), so an install
records the sha256 of what it produced instead of expecting a fixed one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: what the converter environment gets (Python 3.11; tf2onnx 1.17 needs numpy's removed ``product``: patched below)
CONVERTER_REQUIREMENTS = ("tensorflow-cpu==2.21.0", "tf2onnx==1.17.0", "onnx==1.23.2", "protobuf==7.36.2")
OPSET = 13


def converter_venv_dir() -> Path:
    return Path(os.environ.get("MODELBAY_CONVERTER_VENV", Path.home() / ".cache" / "modelbay" / "converter-venv"))


def converter_python(timeout_s: float = 1800) -> Path:
    """The converter environment's python, created and filled on first use (~1-2 min with a warm pip cache)."""
    venv = converter_venv_dir()
    python = venv / "bin" / "python"
    stamp = venv / ".modelbay-requirements"
    wanted = "\n".join(CONVERTER_REQUIREMENTS)
    if python.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return python
    try:
        if not python.is_file():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=timeout_s)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *CONVERTER_REQUIREMENTS], check=True,
                       timeout=timeout_s, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"could not build the converter environment {venv} with {' '.join(CONVERTER_REQUIREMENTS)}: "
                           f"{(exc.stderr or exc.stdout or '')[-1500:]}") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"building the converter environment {venv} took over {timeout_s:.0f} s") from None
    stamp.write_text(wanted)
    return python


def patch_graph(topology: dict) -> int:
    """Add the attributes TensorFlow needs but TF.js graphs may omit; returns how many nodes changed.

    >>> g = {"modelTopology": {"node": [{"op": "TopKV2", "attr": {}}]}}
    >>> patch_graph(g), g["modelTopology"]["node"][0]["attr"]["index_type"]
    (1, {'type': 'DT_INT32'})
    """
    changed = 0
    for node in topology["modelTopology"]["node"]:
        attr = node.setdefault("attr", {})
        if node["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative") and "TArgs" not in attr:
            n_args = int(attr.get("num_args", {}).get("i", "1"))
            attr["TArgs"] = {"list": {"type": ["DT_FLOAT"] * n_args}}
            changed += 1
        elif node["op"] == "TopKV2" and "index_type" not in attr:
            attr["index_type"] = {"type": "DT_INT32"}
            changed += 1
    return changed


def convert_tfjs(model_json: Path, out_onnx: Path, *, timeout_s: float = 900) -> Path:
    """Convert a TF.js graph model to ONNX (opset 13) in the converter environment; returns ``out_onnx``.

    The weight files are read from beside ``model_json``. Raises RuntimeError with tf2onnx's last
    lines when it fails.
    """
    model_json, out_onnx = Path(model_json), Path(out_onnx)
    topology = json.loads(model_json.read_text(encoding="utf-8"))
    patched = model_json.with_name(f".patched-{model_json.name}")  # beside it: the weights paths are relative
    patch_graph(topology)
    patched.write_text(json.dumps(topology), encoding="utf-8")
    tmp = out_onnx.with_name(f".{out_onnx.name}.tmp")
    try:
        # -I: not this folder on sys.path (its modules must not shadow TensorFlow's), nor PYTHONPATH/user site
        done = subprocess.run([str(converter_python()), "-I", str(Path(__file__).resolve()), str(patched), str(tmp)],
                              check=False, capture_output=True, text=True, timeout=timeout_s,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""})
        if done.returncode != 0 or not tmp.is_file():
            raise RuntimeError(f"tf2onnx could not convert {model_json}: {(done.stderr or done.stdout)[-1500:]}")
        os.replace(tmp, out_onnx)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"converting {model_json} took over {timeout_s:.0f} s") from None
    finally:
        patched.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    return out_onnx


def _script_main(argv: list[str]) -> None:
    """Inside the converter environment: ``tfjs_onnx.py patched-model.json out.onnx``."""
    import numpy as np

    if not hasattr(np, "product"):  # tf2onnx 1.17's tfjs reader still calls it; numpy 2 removed it
        np.product = np.prod
    from tf2onnx import convert

    sys.argv = ["tf2onnx", "--tfjs", argv[0], "--output", argv[1], "--opset", str(OPSET)]
    convert.main()


if __name__ == "__main__":
    _script_main(sys.argv[1:])
