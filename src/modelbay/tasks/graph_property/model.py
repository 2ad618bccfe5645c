"""The graph model format, reader and writer together: ``graph.json`` + ``weights.safetensors``.

    {"format": "modelbay.graph-gin/1", "kind": "regression", "input": "smiles", "features": "atoms-38/bonds-4",
     "gin": {"hidden_size": 128, "n_layers": 4, "dropout": 0.1},
     "property": "solubility", "target_mean": -2.9, "target_std": 2.1, "labels": null}

``input`` is ``smiles`` (molecules; missing in models written before plain graphs) or ``graph``
(nodes with ``gin.n_node_features`` features each, and edges). A regression model predicts the standardised property (``target_mean`` and ``target_std`` undo
it); a classifier predicts one logit per label (``labels``, in order).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...ml.model_dir import atomic_model_dir, write_card, write_json
from .gnn import GIN, GINConfig, collate
from .molecules import FEATURES_VERSION, MolecularGraph

FORMAT = "modelbay.graph-gin/1"
CONFIG_FILE = "graph.json"
WEIGHTS_FILE = "weights.safetensors"
KINDS = ("regression", "classification")


def write_graph_model(out_dir: Path, net, config: dict[str, Any], card: dict[str, Any]) -> None:
    """``graph.json``, ``weights.safetensors`` and ``model_card.json``, atomically."""
    from safetensors.torch import save_file

    with atomic_model_dir(out_dir) as tmp:
        save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(tmp / WEIGHTS_FILE))
        (tmp / WEIGHTS_FILE).chmod(0o644)  # safetensors writes it private; a model directory is meant to be readable
        write_json(tmp, CONFIG_FILE, {"format": FORMAT, "features": FEATURES_VERSION, **config})
        write_card(tmp, card)


def graph_config(kind: str, gin: GINConfig, *, property_name: str, labels: list[str] | None = None,
                 target_mean: float = 0.0, target_std: float = 1.0, input_kind: str = "smiles") -> dict[str, Any]:
    return {"kind": kind, "input": input_kind, "gin": asdict(gin), "property": property_name, "labels": labels,
            "target_mean": target_mean, "target_std": target_std}


class GraphModel:
    """A trained model directory, loaded: ``predict(graphs)`` gives values (regression) or probabilities."""

    def __init__(self, path: str | Path) -> None:
        from safetensors.torch import load_file

        from ...ml.model_files import ModelDir

        d = ModelDir(Path(path), hint="retrain it with `modelbay train graph-property --data molecules.csv`")
        self.config = d.config(CONFIG_FILE, (FORMAT,), required=("kind", "gin", "features", "property"))
        self.kind = self.config["kind"]
        if self.kind not in KINDS:
            raise d.error(f"{CONFIG_FILE}: kind {self.kind!r}, expected one of {list(KINDS)}")
        if self.config["features"] != FEATURES_VERSION:
            raise d.error(f"{CONFIG_FILE}: atom features {self.config['features']!r}; this modelbay reads {FEATURES_VERSION!r}")
        self.labels = d.labels(self.config, CONFIG_FILE) if self.kind == "classification" else None
        self.property = str(self.config["property"])
        #: what the model reads: "smiles" (molecules) or "graph" (nodes and edges)
        self.input = self.config.get("input", "smiles")
        gin = GINConfig(**self.config["gin"])
        self.n_node_features = gin.n_node_features
        self.net = GIN(gin, n_outputs=len(self.labels) if self.labels else 1)
        try:
            self.net.load_state_dict(load_file(str(d.path / WEIGHTS_FILE)))
        except (FileNotFoundError, RuntimeError, OSError) as exc:
            raise d.error(f"{WEIGHTS_FILE} does not fit {CONFIG_FILE} ({str(exc)[:200]})") from None
        self.net.eval()

    def predict(self, graphs: list[MolecularGraph], batch_size: int = 256):
        """``(n,)`` property values, or ``(n, n_labels)`` probabilities."""
        import numpy as np
        import torch

        outs = []
        with torch.inference_mode():
            for lo in range(0, len(graphs), batch_size):
                outs.append(self.net(collate(graphs[lo:lo + batch_size])).double().numpy())
        raw = np.concatenate(outs) if outs else np.zeros((0, 1))
        if self.kind == "classification":
            z = raw - raw.max(axis=1, keepdims=True)
            return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return raw[:, 0] * float(self.config["target_std"]) + float(self.config["target_mean"])
