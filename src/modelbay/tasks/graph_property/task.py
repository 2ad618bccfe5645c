"""Molecular property prediction: a GIN graph neural network reads a molecule (SMILES) as a graph of atoms.

``graph-property`` predicts a number (the default model: aqueous solubility, log10 mol/L);
``graph-classification`` a label with its probabilities (the default model: low/medium/high
solubility). Both train on a table of SMILES and values (``modelbay train graph-property --data
molecules.csv --label-col y``) and are scored by ``modelbay eval``. A model trained on plain graphs
(``--param nodes_col=nodes``: node feature rows and ``[i, j]`` edges) reads ``{"nodes", "edges"}``.

>>> from modelbay import pipeline                                          # doctest: +SKIP
>>> pipeline("graph-property")(["CCO", "c1ccccc1"])[0].value              # doctest: +SKIP
0.2766
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from ...core.errors import BadInput, ModelUnavailable
from ...core.protocols import Evaluable, Labelled, Trainable
from ...core.registry import register
from ...core.task import Task, TaskInput, TaskOutput, json_item
from ...core.types import ClassificationOutput
from .molecules import MAX_NODES, MAX_SMILES_CHARS

EXAMPLES = ({"smiles": "CCO"}, {"smiles": "c1ccccc1"}, "CC(=O)Oc1ccccc1C(=O)O", {"smiles": "CCCCCCCCCCCCCCCC"})


class MoleculeInput(TaskInput):
    smiles: str | None = Field(None, max_length=MAX_SMILES_CHARS, description="the molecule as SMILES, e.g. CCO for ethanol")
    nodes: list[list[float]] | None = Field(None, max_length=MAX_NODES,
                                            description="or any graph: one row of features per node (a model trained on such graphs)")
    edges: list[list[int]] | None = Field(None, description="the graph's undirected edges as [i, j] node indices")

    @model_validator(mode="before")
    @classmethod
    def _json_item(cls, data: Any) -> Any:
        return json_item(data, "smiles")

    @field_validator("smiles")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        from .molecules import parse_smiles

        if value is not None:
            parse_smiles(value)  # a ValueError naming the SMILES: HTTP 422, CLI error
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _one_form(self) -> MoleculeInput:
        from .molecules import plain_graph

        if (self.smiles is None) == (self.nodes is None):
            raise ValueError("give exactly one of: a molecule as smiles, or a graph as nodes (and edges)")
        if self.smiles is None and self.nodes is not None:
            plain_graph(self.nodes, self.edges or [])  # a ValueError naming the bad node or edge
        elif self.edges is not None:
            raise ValueError("edges belong to a graph given as nodes; a SMILES has its bonds already")
        return self


class PropertyOutput(TaskOutput):
    value: float = Field(..., description="the predicted property, in the model's unit (see property)")
    property: str = Field(..., description="what the model predicts, e.g. solubility_log_mol_per_l")
    smiles: str | None = Field(None, description="the molecule's canonical SMILES (RDKit); none for a plain graph")

    def summary(self) -> str:
        return f"{self.property} = {self.value:.4g}" + (f"  ({self.smiles})" if self.smiles else "")


class MoleculeClassOutput(ClassificationOutput):
    smiles: str | None = Field(None, description="the molecule's canonical SMILES (RDKit); none for a plain graph")

    def summary(self) -> str:
        return f"{self.label} ({self.score:.2f})" + (f"  ({self.smiles})" if self.smiles else "")


class _GraphTask(Task, Trainable, Evaluable):
    """What the two tasks share: loading a GIN model, featurising SMILES, training and reading data."""

    Input = MoleculeInput
    primary_field = "smiles"
    example_inputs = EXAMPLES
    kind = "regression"

    def setup(self, model, device: str = "cpu") -> None:
        super().setup(model, device)
        from .model import GraphModel

        if model.spec.options.get("backend", "gin") != "gin" or not model.path:
            raise ModelUnavailable(f"model {model.spec.name!r} is not a GIN graph model",
                                   hint=f"run it with the task of its catalog spec, or train one: modelbay train {self.name}")
        self.backend = GraphModel(model.path)
        if self.backend.kind != self.kind:
            other = "graph-classification" if self.backend.kind == "classification" else "graph-property"
            raise ModelUnavailable(f"model {model.spec.name!r} is a {self.backend.kind} model", hint=f"run it with {other}")

    def preprocess(self, items: list[MoleculeInput]):
        from .molecules import plain_graph, smiles_graph

        name, reads = self.model.spec.name, self.backend.input
        graphs = []
        for item in items:
            if (item.smiles is not None) != (reads == "smiles"):
                given = f"SMILES {item.smiles!r:.60}" if item.smiles is not None else "a graph (nodes and edges)"
                wanted = "molecules as smiles" if reads == "smiles" else "graphs as nodes and edges"
                raise BadInput(f"{given}: model {name!r} reads {wanted}", hint="use a model trained on that kind of input")
            if item.smiles is not None:
                graphs.append(smiles_graph(item.smiles))
            elif len(item.nodes[0]) != self.backend.n_node_features:
                raise BadInput(f"a graph whose nodes have {len(item.nodes[0])} features: model {name!r} was trained "
                               f"on {self.backend.n_node_features} per node")
            else:
                graphs.append(plain_graph(item.nodes, item.edges or []))
        return graphs

    def _forward(self, graphs):
        return graphs, self.backend.predict(graphs)

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """A table of SMILES (``smiles_col``, default smiles) and truths (``--label-col``, default the target field)."""
        from ...data.databases import data_source
        from .data import labelled_molecules

        return labelled_molecules(data_source(path), options, target_field=cls.target_field, kind=cls.kind)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """Train a GIN (``modelbay.tasks.graph_property.train``)."""
        from ...data.databases import data_source
        from .train import train_graph_model

        return train_graph_model(data_source(data), Path(out_dir), options, progress=progress, kind=cls.kind,
                                 target_field=cls.target_field, name=name, task=cls.name)


@register
class GraphProperty(_GraphTask):
    """Predict a number (solubility, toxicity score, energy…) of a molecule."""

    name = "graph-property"
    aliases = ("molecular-property", "molecule-property", "graph-regression")
    description = "Predict a property of a molecule (SMILES) with a graph neural network (GIN); default: aqueous solubility"
    Output = PropertyOutput
    default_model = "graph-solubility-gin"
    metric_family = "regression"
    target_field = "value"
    kind = "regression"

    def postprocess(self, raw, items):
        graphs, values = raw
        return [PropertyOutput(value=round(float(v), 4), property=self.backend.property, smiles=g.canonical_smiles)
                for g, v in zip(graphs, values)]


@register
class GraphClassification(_GraphTask, Labelled):
    """Label a molecule (active/inactive, toxic/non-toxic, low/medium/high solubility)."""

    name = "graph-classification"
    aliases = ("molecular-classification", "molecule-classification")
    description = "Label a molecule (SMILES) with a graph neural network (GIN); default: low/medium/high solubility"
    Output = MoleculeClassOutput
    default_model = "graph-solubility-class-gin"
    metric_family = "classification"
    target_field = "label"
    kind = "classification"

    @property
    def labels(self) -> list[str]:
        return list(self.backend.labels or [])

    def postprocess(self, raw, items):
        graphs, probabilities = raw
        labels = self.backend.labels or []
        outputs = []
        for g, row in zip(graphs, probabilities):
            best = int(row.argmax())
            outputs.append(MoleculeClassOutput(label=labels[best], score=round(float(row[best]), 4),
                                               scores={lab: round(float(p), 4) for lab, p in zip(labels, row)},
                                               smiles=g.canonical_smiles))
        return outputs
