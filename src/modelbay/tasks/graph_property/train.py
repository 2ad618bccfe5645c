"""Train a GIN on labelled molecules: a property (regression) or a label (classification) per SMILES.

The table is split (seed ``seed``) into train and validation; the epoch with the best validation
loss is kept (early stopping after ``patience_epochs`` without improvement), and the card's
metrics are that validation part's (RMSE/MAE/R² or accuracy/ROC-AUC).

>>> card = train_graph_model(Path("molecules.csv"), Path("/tmp/sol"), {"label_col": "y"},
...                          kind="regression", target_field="value")                # doctest: +SKIP
>>> card["metrics"]["validation"]["rmse"]                                            # doctest: +SKIP
0.71
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...core.errors import BadInput
from ...core.task import Progress
from ...ml.progress import reporter
from .data import labelled_molecules
from .gnn import GIN, GINConfig, collate
from .model import FORMAT, graph_config, write_graph_model
from .molecules import N_ATOM_FEATURES, plain_graph, smiles_graph


@dataclass
class GraphTrainConfig:
    """Training options (``--param key=value``)."""

    smiles_col: str = "smiles"
    label_col: str | None = None          # default: the task's target field (value or label)
    text_col: str | None = None           # the CLI's --text-col: another name for smiles_col
    nodes_col: str | None = None          # plain graphs instead of SMILES: the column of node feature rows
    edges_col: str = "edges"              # … and of [i, j] edges
    format: str | None = None
    language: str | None = None           # ignored: molecules have none
    max_epochs: int = 200
    patience_epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    hidden_size: int = 128
    n_layers: int = 4
    dropout: float = 0.1
    val_fraction: float = 0.1
    seed: int = 0
    skip_invalid: bool = False            # drop rows whose SMILES RDKit cannot parse instead of failing
    property_name: str | None = None      # what the model predicts (default: the label column's name)
    num_threads: int = 1                  # torch threads; more only help on an idle machine


def _config(options: dict[str, Any]) -> GraphTrainConfig:
    from ...ml.options import config_from_options

    config = config_from_options(GraphTrainConfig, options, what="graph models")
    if config.text_col and "smiles_col" not in options:
        config.smiles_col = config.text_col
    for key in ("max_epochs", "batch_size", "hidden_size", "n_layers", "num_threads"):
        if getattr(config, key) < 1:
            raise BadInput(f"{key} must be at least 1, got {getattr(config, key)}")
    if not 0 < config.val_fraction < 1:
        raise BadInput(f"val_fraction must be between 0 and 1, got {config.val_fraction}")
    return config


def featurise(records: list[dict[str, Any]], *, skip_invalid: bool, where: str,
              progress: Progress = False) -> tuple[list, list[dict[str, Any]]]:
    """Graphs of the records' SMILES, and the records kept; a bad SMILES fails naming its record unless skipped."""
    graphs, kept = [], []
    with reporter(progress) as rep:
        tick = rep.stage("molecules to graphs (RDKit)", total=len(records))
        for i, rec in enumerate(records, 1):
            graph = _graph_or_none(rec, i, skip_invalid=skip_invalid, where=where)
            if graph is not None:
                graphs.append(graph)
                kept.append(rec)
            if i % 100 == 0 or i == len(records):
                tick(i)
    return graphs, kept


def _graph_or_none(rec: dict[str, Any], i: int, *, skip_invalid: bool, where: str):
    try:
        return plain_graph(rec["nodes"], rec["edges"]) if "nodes" in rec else smiles_graph(rec["smiles"])
    except ValueError as exc:
        if skip_invalid:
            return None
        raise BadInput(f"{where}: record {i}: {exc}", hint="fix or remove the row, or pass --param skip_invalid=true") from None


def _node_features(graphs: list, config: GraphTrainConfig, data) -> int:
    """Features per node: RDKit's atom features, or the plain graphs' own (the same for all of them)."""
    if not config.nodes_col:
        return N_ATOM_FEATURES
    widths = sorted({g.atom_features.shape[1] for g in graphs})
    if len(widths) > 1:
        raise BadInput(f"{data}: graphs have {widths} node features; every node of every graph needs the same number")
    return widths[0] if widths else 1


def _split(records: list[dict[str, Any]], config: GraphTrainConfig, kind: str, target: str) -> tuple[list[int], list[int]]:
    from ...ml.splits import stratified_split

    if len(records) < 10:
        raise BadInput(f"{len(records)} molecules; training needs at least 10 (and hundreds to be useful)")
    labels = [r[target] for r in records] if kind == "classification" else [""] * len(records)
    return stratified_split(labels, config.val_fraction, config.seed)


def _targets(records, kind: str, target: str, labels: list[str] | None):
    import torch

    if kind == "classification":
        return torch.tensor([labels.index(r[target]) for r in records], dtype=torch.long)
    return torch.tensor([float(r[target]) for r in records], dtype=torch.float32)


def _loss(kind: str):
    import torch

    if kind == "classification":
        return torch.nn.functional.cross_entropy
    return lambda out, y: torch.nn.functional.mse_loss(out[:, 0], y)


def _epoch(net, optimiser, graphs, y, config: GraphTrainConfig, loss_fn, generator) -> None:
    import torch

    net.train()
    order = torch.randperm(len(graphs), generator=generator).tolist()
    for lo in range(0, len(order), config.batch_size):
        idx = order[lo:lo + config.batch_size]
        optimiser.zero_grad()
        loss = loss_fn(net(collate([graphs[i] for i in idx])), y[idx])
        loss.backward()
        optimiser.step()


def _evaluate(net, graphs, y, loss_fn) -> tuple[float, Any]:
    import torch

    net.eval()
    with torch.inference_mode():
        out = net(collate(graphs))
        return float(loss_fn(out, y)), out


def _fit_net(train, val, config: GraphTrainConfig, gin: GINConfig, kind: str, n_outputs: int, progress: Progress):
    """Train until validation loss stops improving; returns the best net, its epoch and its validation outputs."""
    import copy

    import torch

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    net = GIN(gin, n_outputs=n_outputs)
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    loss_fn = _loss(kind)
    best = (float("inf"), 0, None, None)
    with reporter(progress) as rep:
        tick = rep.stage("train GIN (epochs)", total=config.max_epochs)
        for epoch in range(1, config.max_epochs + 1):
            _epoch(net, optimiser, train[0], train[1], config, loss_fn, generator)
            loss, out = _evaluate(net, val[0], val[1], loss_fn)
            if loss < best[0]:
                best = (loss, epoch, copy.deepcopy(net.state_dict()), out)
            tick(epoch)
            if epoch - best[1] >= config.patience_epochs:
                break
    net.load_state_dict(best[2])
    return net.eval(), best[1], epoch, best[3]


def _validation_metrics(kind: str, out, records, target: str, labels, config: dict) -> dict[str, Any]:
    import numpy as np

    from ...ml.metrics import classification_metrics, regression

    truths = [r[target] for r in records]
    if kind == "regression":
        preds = (out[:, 0].double().numpy() * config["target_std"] + config["target_mean"]).tolist()
        return {k: v for k, v in regression(truths, preds).items() if k != "headline"}
    probs = np.asarray(out.softmax(dim=1).double())
    metrics = classification_metrics(truths, [labels[i] for i in probs.argmax(axis=1)], labels)
    return {**{k: v for k, v in metrics.items() if isinstance(v, (int, float))}, **_roc_auc(truths, probs, labels)}


def _roc_auc(truths: list[str], probs, labels: list[str]) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    if len(set(truths)) < 2:
        return {}
    if len(labels) == 2:
        return {"roc_auc": float(roc_auc_score([t == labels[1] for t in truths], probs[:, 1]))}
    present = [i for i, lab in enumerate(labels) if lab in set(truths)]
    if len(present) < len(labels):
        return {}
    return {"roc_auc_macro_ovr": float(roc_auc_score(truths, probs, multi_class="ovr", labels=labels))}


def train_graph_model(data: Path | str, out_dir: Path, options: dict[str, Any], progress: Progress = False, *,
                      kind: str, target_field: str, name: str = "model", task: str = "graph-property") -> dict[str, Any]:
    """Train and write a GIN model for ``data``'s molecules; returns the model card."""
    import torch

    t0 = time.perf_counter()
    config = _config(options)
    torch.set_num_threads(config.num_threads)
    records = labelled_molecules(data, {**options, "smiles_col": config.smiles_col}, target_field=target_field, kind=kind)
    graphs, records = featurise(records, skip_invalid=config.skip_invalid, where=str(data), progress=progress)
    gin = GINConfig(config.hidden_size, config.n_layers, config.dropout, _node_features(graphs, config, data))
    train_idx, val_idx = _split(records, config, kind, target_field)
    labels = sorted({r[target_field] for r in records}) if kind == "classification" else None
    if labels is not None and len(labels) < 2:
        raise BadInput(f"{data}: every molecule has label {labels[0]!r}; a classifier needs at least two labels")
    y = _targets(records, kind, target_field, labels)
    saved = graph_config(kind, gin, labels=labels, property_name=config.property_name or config.label_col or target_field,
                         input_kind="graph" if config.nodes_col else "smiles")
    if kind == "regression":
        saved["target_mean"], saved["target_std"] = float(y[train_idx].mean()), float(y[train_idx].std().clamp(min=1e-6))
        y = (y - saved["target_mean"]) / saved["target_std"]
    net, best_epoch, epochs, val_out = _fit_net(([graphs[i] for i in train_idx], y[train_idx]),
                                                ([graphs[i] for i in val_idx], y[val_idx]),
                                                config, gin, kind, len(labels) if labels else 1, progress)
    validation = _validation_metrics(kind, val_out, [records[i] for i in val_idx], target_field, labels, saved)
    card = _card(data, records, config, saved, (len(train_idx), len(val_idx)), name=name, task=task, kind=kind)
    card["training"] = {"best_epoch": best_epoch, "epochs_run": epochs, "n_train": len(train_idx),
                        "n_validation": len(val_idx), "seconds": round(time.perf_counter() - t0, 2)}
    card["metrics"] = {"validation": validation}
    write_graph_model(out_dir, net, saved, card)
    return card


def _card(data, records, config: GraphTrainConfig, saved: dict[str, Any], sizes: tuple[int, int], *, name: str, task: str,
          kind: str) -> dict[str, Any]:
    import rdkit
    import torch

    from ...core.version import __version__
    from ...ml.fingerprint import data_fingerprint, records_fingerprint
    from ...ml.model_dir import utc_timestamp
    from ...ml.splits import split_card, validation_warnings

    fingerprint = data_fingerprint(data)
    if fingerprint.get("sha256") is None:
        fingerprint["records_sha256"] = records_fingerprint(records)
    what = f"{saved['property']} ({kind})" + (f", labels {saved['labels']}" if saved["labels"] else "")
    return {
        "name": name, "task": task, "base": "GIN (plain PyTorch) over RDKit molecular graphs", "format": FORMAT,
        "created": utc_timestamp(), "description": f"predicts {what} from a SMILES",
        "data": {**fingerprint, "n_records": len(records),
                 "split": split_card(config.seed, config.val_fraction, *sizes,
                                     stratified_by="label" if kind == "classification" else "none (random)")},
        "options": {"backend": "gin"}, "kind": kind, "property": saved["property"], "labels": saved["labels"],
        "config": asdict(config), "warnings": validation_warnings(sizes[1], "molecules"),
        "rdkit_version": rdkit.__version__, "torch_version": torch.__version__, "modelbay_version": __version__,
    }
