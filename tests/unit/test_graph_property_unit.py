"""The graph capability's pieces without a trained model: SMILES to graphs, batching, the GIN and its file format."""

import json
import re

import numpy as np
import pytest

from modelbay.core.errors import ModelUnavailable
from modelbay.tasks.graph_property.gnn import GIN, GINConfig, collate
from modelbay.tasks.graph_property.model import CONFIG_FILE, GraphModel, graph_config, write_graph_model
from modelbay.tasks.graph_property.molecules import N_ATOM_FEATURES, parse_smiles, plain_graph, smiles_graph


def test_atoms_become_nodes_and_bonds_two_directed_edges():
    phenol = smiles_graph("Oc1ccccc1")
    assert phenol.atom_features.shape == (7, N_ATOM_FEATURES)
    assert phenol.edges.shape == (2, 14)                       # 7 bonds, both directions
    assert sorted(phenol.bond_types.tolist()) == [0, 0] + [3] * 12   # C-O single, 6 aromatic ring bonds
    assert set(map(tuple, phenol.edges.T.tolist())) == {(j, i) for i, j in phenol.edges.T.tolist()}
    # one hot per group (element, degree, charge, hydrogens, hybridisation), then aromatic and in-ring flags
    assert phenol.atom_features.sum(axis=1).tolist() == [5, 7, 7, 7, 7, 7, 7]
    assert phenol.atom_features[0, 2] == 1 and phenol.atom_features[1, 0] == 1   # O (third element), then C


def test_charged_and_unusual_atoms_are_featurised():
    salt = smiles_graph("[Na+].[Cl-]")
    assert salt.atom_features.shape[0] == 2 and salt.edges.shape == (2, 0)


@pytest.mark.parametrize("smiles, needle", [
    ("C1CC", "'C1CC' is not a valid SMILES"),
    ("C(C)(C)(C)(C)C", "is not a valid SMILES"),      # a carbon with five bonds
    ("Xx", "'Xx' is not a valid SMILES"),
    ("   ", "empty SMILES"),
])
def test_bad_smiles_are_named(smiles, needle):
    with pytest.raises(ValueError, match=needle):
        parse_smiles(smiles)


@pytest.mark.parametrize("nodes, edges, needle", [
    ([], [], "0 nodes"),
    ([[1.0], [1.0, 2.0]], [], "the same number of features"),
    ([[1.0], [float("nan")]], [], "finite numbers"),
    ([[1.0], [1.0]], [[0, 2]], "edges: [0, 2] is not a pair of node indices 0..1"),
])
def test_bad_plain_graphs_are_named(nodes, edges, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        plain_graph(nodes, edges)


def test_collate_renumbers_edges_and_records_each_atoms_molecule():
    batch = collate([smiles_graph("CCO"), smiles_graph("C")])
    assert batch["n_graphs"] == 2 and batch["atoms"].shape == (4, N_ATOM_FEATURES)
    assert batch["graph_of_atom"].tolist() == [0, 0, 0, 1]
    assert batch["edges"].max().item() == 2                   # methane adds an atom and no edge


def test_the_gin_ignores_atom_order_and_batch_company():
    import torch

    torch.manual_seed(0)
    net = GIN(GINConfig(hidden_size=16, n_layers=2), n_outputs=1).eval()
    with torch.inference_mode():
        a = net(collate([smiles_graph("OCC(=O)N")]))
        b = net(collate([smiles_graph("NC(=O)CO")]))           # the same molecule written from the other end
        c = net(collate([smiles_graph("c1ccccc1"), smiles_graph("NC(=O)CO")]))
    assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a[0], c[1], atol=1e-5)


def _write(tmp_path, kind="regression", labels=None, **config):
    import torch

    torch.manual_seed(0)
    net = GIN(GINConfig(hidden_size=8, n_layers=1), n_outputs=len(labels) if labels else 1)
    saved = graph_config(kind, GINConfig(hidden_size=8, n_layers=1), property_name="logS", labels=labels,
                         target_mean=-2.0, target_std=3.0)
    write_graph_model(tmp_path / "m", net, {**saved, **config}, {"task": "graph-property", "metrics": {}})
    return tmp_path / "m", net


def test_the_format_round_trips(tmp_path):
    import torch

    path, net = _write(tmp_path)
    model = GraphModel(path)
    graphs = [smiles_graph("CCO"), smiles_graph("c1ccccc1")]
    with torch.inference_mode():
        raw = net.eval()(collate(graphs))[:, 0].numpy()
    assert np.allclose(model.predict(graphs), raw * 3.0 - 2.0, atol=1e-5)   # standardisation undone
    assert model.property == "logS" and model.labels is None
    path, _ = _write(tmp_path / "c", "classification", ["active", "inactive"])
    probabilities = GraphModel(path).predict(graphs)
    assert probabilities.shape == (2, 2) and np.allclose(probabilities.sum(axis=1), 1)


def test_a_model_with_other_atom_features_is_refused(tmp_path):
    path, _ = _write(tmp_path)
    config = json.loads((path / CONFIG_FILE).read_text())
    (path / CONFIG_FILE).write_text(json.dumps({**config, "features": "atoms-9/bonds-1"}))
    with pytest.raises(ModelUnavailable, match="atom features 'atoms-9/bonds-1'"):
        GraphModel(path)
    (path / CONFIG_FILE).write_text(json.dumps({**config, "gin": {**config["gin"], "hidden_size": 16}}))
    with pytest.raises(ModelUnavailable, match="does not fit graph.json"):
        GraphModel(path)
