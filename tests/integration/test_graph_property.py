"""The graph tasks end to end: the shipped solubility models on real molecules, training on a table (file and
SQLite) through the CLI, running and scoring the trained model, serving it, and the errors bad input gets."""

import csv
import json
import sqlite3

import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput

pytestmark = pytest.mark.models("graph-property", "graph-classification")

#: small molecules whose heavy-atom count a GIN learns in a few epochs (the tests' property: data made here,
#: so only learning is checked, never a quality claim)
SMILES = [*("C" * n for n in range(1, 13)), *("C" * n + "O" for n in range(1, 13)),
          *("C" * n + "N" for n in range(1, 13)), *("c1ccccc1" + "C" * n for n in range(12))]


def _heavy_atoms(smiles: str) -> int:
    return sum(ch in "CNOc" for ch in smiles)


@pytest.fixture
def molecules_csv(tmp_path):
    path = tmp_path / "molecules.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["mol", "size", "ring"])
        writer.writerows([s, _heavy_atoms(s), "aromatic" if "c1" in s else "chain"] for s in SMILES)
    return path


def test_default_model_ranks_solubility_like_chemistry_does(loaded_task):
    task = loaded_task("graph-property")
    ethanol, benzene, hexadecane = task([task.coerce(s) for s in ("CCO", "c1ccccc1", "CCCCCCCCCCCCCCCC")])
    assert ethanol.property == "solubility_log10_mol_per_l" and ethanol.smiles == "CCO"
    assert ethanol.value > benzene.value > hexadecane.value     # miscible > ~-1.6 > ~-8 log mol/L
    assert ethanol.value > -0.5 and hexadecane.value < -5
    same = task([task.coerce({"smiles": "OCC"})])[0]            # another way to write ethanol
    assert same.smiles == "CCO" and same.value == pytest.approx(ethanol.value, abs=1e-4)


def test_default_classifier_labels_solubility_classes(loaded_task):
    task = loaded_task("graph-classification")
    assert task.labels == ["high", "low", "medium"]
    ethanol, hexadecane = task([task.coerce(s) for s in ("CCO", "CCCCCCCCCCCCCCCC")])
    assert ethanol.label == "high" and hexadecane.label == "low"
    assert sum(ethanol.scores.values()) == pytest.approx(1, abs=1e-3)


def test_train_run_eval_and_serve_a_trained_model(fresh_settings, molecules_csv):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "graph-property", "--data", str(molecules_csv), "--name", "sizes", "--json",
                                 "--text-col", "mol", "--label-col", "size", "--param", "max_epochs=60",
                                 "--param", "hidden_size=32", "--param", "val_fraction=0.2"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["task"] == "graph-property" and card["property"] == "size" and card["data"]["n_records"] == 48
    assert card["training"]["n_validation"] == 10 and card["metrics"]["validation"]["r2"] > 0.5

    import modelbay

    task = modelbay.pipeline("graph-property", model="sizes")
    small, large = task(["CC", "CCCCCCCCCC"])
    assert large.value > small.value + 3 and large.property == "size"

    from modelbay.evaluate.runner import evaluate

    report = evaluate("sizes", molecules_csv, options={"smiles_col": "mol", "label_col": "size"}, n_bootstrap=0)
    assert report["family"] == "regression" and report["n"] == 48 and report["metrics"]["r2"] > 0.5

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        ok = client.post("/v1/tasks/graph-property", json={"inputs": [{"smiles": "CC"}], "model": "sizes"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["outputs"][0]["value"] == small.value
        bad = client.post("/v1/tasks/graph-property", json={"inputs": [{"smiles": "CCO"}, {"smiles": "C1CC"}]})
        assert bad.status_code == 422 and "'C1CC' is not a valid SMILES" in bad.json()["error"]["message"]


def test_train_and_eval_a_classifier_from_a_sqlite_table(fresh_settings, tmp_path):
    db = tmp_path / "mols.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE mols (smiles TEXT, kind TEXT)")
        conn.executemany("INSERT INTO mols VALUES (?, ?)", [(s, "aromatic" if "c1" in s else "chain") for s in SMILES])
    url = f"sqlite:///{db}?table=mols"
    result = CliRunner().invoke(app, ["train", "graph-classification", "--data", url, "--name", "rings", "--json",
                                      "--label-col", "kind", "--param", "max_epochs=30", "--param", "hidden_size=32",
                                      "--param", "val_fraction=0.25"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["labels"] == ["aromatic", "chain"] and card["data"]["database"].startswith("sqlite:")
    assert card["metrics"]["validation"]["roc_auc"] > 0.9

    from modelbay.evaluate.runner import evaluate

    report = evaluate("rings", url, options={"label_col": "kind"}, n_bootstrap=0)
    assert report["family"] == "classification" and report["n"] == 48 and report["metrics"]["accuracy"] > 0.9


def test_the_shipped_molecule_sets_are_read_from_datamols_wheel():
    from modelbay.tasks.graph_property.data import shipped_molecules

    train, test = shipped_molecules("solubility", "train"), shipped_molecules("solubility", "test")
    assert (len(train), len(test)) == (1025, 257)
    assert train.iloc[0].to_dict() == {"smiles": "CCCCC", "name": "n-pentane", "solubility": -3.18, "solubility_class": "low"}
    assert set(train.solubility_class) == {"low", "medium", "high"}
    # the publishers' split shares 4 graphs (stereoisomers: cis/trans 1,2-dimethylcyclohexane, endrin/dieldrin…);
    # bench/graph_property.py scores the models without them
    assert len(set(train.smiles) & set(test.smiles)) == 4
    assert len(shipped_molecules("freesolv")) == 642
    with pytest.raises(BadInput, match="unknown molecule set 'tox21'"):
        shipped_molecules("tox21")


@pytest.mark.parametrize("rows, options, needle", [
    ([("smiles", "y"), ("CCO", "1.0")], {"label_col": "y"}, "1 molecules; training needs at least 10"),
    ([("smiles", "y"), ("CCO", "1.0"), ("C1CC", "2.0")], {"label_col": "y"}, "record 2: 'C1CC' is not a valid SMILES"),
    ([("smiles", "y"), ("CCO", "lots")], {"label_col": "y"}, "'lots' is not a number"),
    ([("mol", "y"), ("CCO", "1.0")], {"label_col": "y"}, "no column 'smiles'"),
    ([("smiles", "y"), ("CCO", "1.0")], {"label_col": "y", "epochs": 3}, "unknown training option(s) epochs"),
])
def test_training_errors_name_the_problem(fresh_settings, tmp_path, rows, options, needle):
    from modelbay.tasks.graph_property.task import GraphProperty

    path = tmp_path / "bad.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(BadInput) as info:
        GraphProperty.fit(path, tmp_path / "out", options)
    assert needle in str(info.value)
    assert not (tmp_path / "out").exists()


def test_invalid_rows_can_be_skipped(fresh_settings, tmp_path):
    from modelbay.tasks.graph_property.task import GraphProperty

    path = tmp_path / "some-bad.csv"
    path.write_text("smiles,y\n" + "".join(f"{s},{_heavy_atoms(s)}\n" for s in SMILES[:20]) + "C1CC,3\n", encoding="utf-8")
    seen = []
    card = GraphProperty.fit(path, tmp_path / "out", {"label_col": "y", "skip_invalid": True, "max_epochs": 2},
                             progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert card["data"]["n_records"] == 20
    assert ("molecules to graphs (RDKit)", 21, 21) in seen and ("train GIN (epochs)", 2, 2) in seen


def test_cli_run_with_a_bare_smiles_and_a_bad_one():
    runner = CliRunner()
    result = runner.invoke(app, ["run", "graph-property", "--json", "CCO"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["smiles"] == "CCO"
    bad = runner.invoke(app, ["run", "graph-property", "C1CC"])
    assert bad.exit_code != 0 and "not a valid SMILES" in bad.output


def _ring_or_chain(n: int, shape: str) -> dict:
    edges = [[i, i + 1] for i in range(n - 1)] + ([[n - 1, 0]] if shape == "ring" else [])
    return {"nodes": [[1.0]] * n, "edges": edges}


def test_plain_graphs_train_run_and_serve(fresh_settings, tmp_path, loaded_task):
    path = tmp_path / "graphs.jsonl"
    rows = [{**_ring_or_chain(n, shape), "shape": shape} for n in range(3, 27) for shape in ("ring", "chain")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "graph-classification", "--data", str(path), "--name", "shapes", "--json",
                                      "--label-col", "shape", "--param", "nodes_col=nodes", "--param", "max_epochs=40",
                                      "--param", "hidden_size=32", "--param", "batch_size=8", "--param", "val_fraction=0.25"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["labels"] == ["chain", "ring"] and card["metrics"]["validation"]["accuracy"] > 0.9

    import modelbay

    task = modelbay.pipeline("graph-classification", model="shapes")
    ring, chain = task([_ring_or_chain(30, "ring"), _ring_or_chain(30, "chain")])   # longer than any trained on
    assert (ring.label, chain.label, ring.smiles) == ("ring", "chain", None)
    with pytest.raises(BadInput, match="SMILES 'CCO': model 'shapes@1' reads graphs as nodes and edges"):
        task(["CCO"])
    with pytest.raises(BadInput, match="nodes have 2 features: model 'shapes@1' was trained on 1 per node"):
        task([{"nodes": [[1.0, 0.0], [1.0, 0.0]], "edges": [[0, 1]]}])
    cli = CliRunner().invoke(app, ["run", "shapes", "--json", json.dumps(_ring_or_chain(6, "ring"))])
    assert cli.exit_code == 0 and json.loads(cli.output)[0]["label"] == "ring", cli.output
    molecules = loaded_task("graph-property")
    with pytest.raises(BadInput, match="a graph .nodes and edges.: model 'graph-solubility-gin' reads molecules"):
        molecules([molecules.coerce({"nodes": [[1.0]], "edges": []})])

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        ok = client.post("/v1/tasks/graph-classification", json={"model": "shapes", "inputs": [_ring_or_chain(5, "ring")]})
        assert ok.status_code == 200 and ok.json()["outputs"][0]["label"] == "ring", ok.text
        bad = client.post("/v1/tasks/graph-classification", json={"model": "shapes", "inputs": [
            {"nodes": [[1.0], [1.0]], "edges": [[0, 2]]}]})
        assert bad.status_code == 422 and "edges: [0, 2] is not a pair of node indices 0..1" in bad.text
        both = client.post("/v1/tasks/graph-classification", json={"inputs": [{"smiles": "CCO", "nodes": [[1.0]]}]})
        assert both.status_code == 422 and "exactly one of" in both.text
