"""Reading a trained model's directory: its JSON config and its numpy MLP head, with errors that say what to do.

Every backend that loads a directory modelbay wrote (text heads, image heads, LightGBM
tables) checks the same things — the config file exists, is JSON, has the expected
format and fields; the head's layers chain and end in one output per label — and runs
the same numpy MLP. They do it here, once.

>>> d = ModelDir("/models/support-intent/3", hint="retrain it")            # doctest: +SKIP
>>> config = d.config("head.json", formats=("modelbay.embedding-head/2",), required=("labels",))  # doctest: +SKIP
>>> layers = d.mlp_layers(config["n_layers"])                                # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.errors import ModelUnavailable


class ModelDir:
    def __init__(self, path: str | Path, hint: str) -> None:
        self.path = Path(path)
        self.hint = hint

    def error(self, problem: str) -> ModelUnavailable:
        return ModelUnavailable(f"{self.path}: {problem}", hint=self.hint)

    def config(self, filename: str, formats: Sequence[str], required: Sequence[str] = ()) -> dict[str, Any]:
        """``filename`` parsed, with a ``format`` among ``formats`` and every ``required`` key."""
        try:
            config = json.loads((self.path / filename).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise self.error(f"{filename} is missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise self.error(f"{filename} is not valid JSON ({exc})") from None
        if not isinstance(config, dict) or config.get("format") not in formats:
            found = config.get("format") if isinstance(config, dict) else type(config).__name__
            raise self.error(f"{filename} format {found!r}, expected one of {list(formats)}")
        missing = [k for k in required if k not in config]
        if missing:
            raise self.error(f"{filename} lacks {missing}")
        return config

    def labels(self, config: dict[str, Any], filename: str) -> list[str]:
        labels = config.get("labels")
        if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
            raise self.error(f"{filename} labels must be a list of at least 2 strings, got {labels!r}")
        return labels

    def mlp_layers(self, n_layers: int, n_outputs: int, filename: str = "head.npz") -> list:
        """``(W, b)`` pairs from ``W0, b0, W1, b1, …``; they must chain and end in ``n_outputs``."""
        import numpy as np

        try:
            weights = np.load(self.path / filename)
            layers = [(weights[f"W{i}"], weights[f"b{i}"]) for i in range(int(n_layers))]
        except (FileNotFoundError, KeyError, ValueError, OSError) as exc:
            raise self.error(f"{filename} does not hold the {n_layers} layers the config promises ({exc})") from None
        for i, (w, b) in enumerate(layers):
            if w.ndim != 2 or b.shape != (w.shape[1],) or (i and w.shape[0] != layers[i - 1][0].shape[1]):
                raise self.error(f"{filename}: layer {i} has shapes W{w.shape} b{b.shape} that do not chain")
        if not layers or layers[-1][0].shape[1] != n_outputs:
            found = layers[-1][0].shape[1] if layers else 0
            raise self.error(f"{filename}: the last layer has {found} outputs for {n_outputs} labels")
        return layers


def mlp_logits(layers, x):
    """The MLP in numpy: ReLU between layers, raw logits out (training and inference share it)."""
    import numpy as np

    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def softmax(z):
    import numpy as np

    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)
