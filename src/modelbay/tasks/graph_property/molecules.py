"""SMILES to graphs: RDKit parses a molecule, and each atom becomes a node with one-hot features.

The featurisation is part of the model format (``FEATURES_VERSION`` is stored in ``graph.json``): a
model trained with one set of atom features cannot read another's.

>>> graph = smiles_graph("CCO")
>>> graph.atom_features.shape, graph.edges.shape, graph.bond_types.tolist()
((3, 38), (2, 4), [0, 0, 0, 0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FEATURES_VERSION = "atoms-38/bonds-4"
MAX_SMILES_CHARS = 2_000
MAX_ATOMS = 500
ELEMENTS = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si", "Se", "H")  # then "other"
DEGREES = (0, 1, 2, 3, 4, 5)                                                     # then "6 or more"
CHARGES = (-1, 0, 1)                                                             # then "other"
HYDROGENS = (0, 1, 2, 3)                                                         # then "4 or more"
HYBRIDISATIONS = ("SP", "SP2", "SP3", "SP3D", "SP3D2")                           # then "other"
#: single, double, triple, aromatic; any other bond counts as single
BOND_TYPES = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")
N_ATOM_FEATURES = (len(ELEMENTS) + 1) + (len(DEGREES) + 1) + (len(CHARGES) + 1) + (len(HYDROGENS) + 1) \
    + (len(HYBRIDISATIONS) + 1) + 2  # aromatic, in a ring
N_BOND_TYPES = len(BOND_TYPES)


MAX_NODES = 10_000
MAX_NODE_FEATURES = 1_000


@dataclass
class MolecularGraph:
    """A molecule's graph (or any graph: ``plain_graph``), what the GIN reads."""

    atom_features: Any   # float32 (n_atoms, N_ATOM_FEATURES), or (n_nodes, k) for a plain graph
    edges: Any           # int64 (2, 2 * n_bonds): both directions of every bond
    bond_types: Any      # int64 (2 * n_bonds,): index into BOND_TYPES (0 for a plain graph's edges)
    canonical_smiles: str | None


def _quiet_rdkit() -> None:
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")  # a bad SMILES is reported by our error, not by RDKit's stderr


def parse_smiles(smiles: str):
    """The RDKit molecule of ``smiles``; ``ValueError`` naming the SMILES when it does not parse.

    >>> parse_smiles("C1CC")
    Traceback (most recent call last):
    ...
    ValueError: 'C1CC' is not a valid SMILES (RDKit could not parse it: an unclosed ring, a bad valence or an unknown atom); check it, e.g. ethanol is 'CCO'
    """
    from rdkit import Chem

    text = smiles.strip()
    if not text:
        raise ValueError("empty SMILES; give a molecule, e.g. 'CCO' for ethanol")
    if len(text) > MAX_SMILES_CHARS:
        raise ValueError(f"SMILES of {len(text)} characters; at most {MAX_SMILES_CHARS}")
    _quiet_rdkit()
    mol = Chem.MolFromSmiles(text)
    if mol is None:
        raise ValueError(f"{text!r:.80} is not a valid SMILES (RDKit could not parse it: an unclosed ring, a bad valence "
                         "or an unknown atom); check it, e.g. ethanol is 'CCO'")
    if mol.GetNumAtoms() == 0:
        raise ValueError(f"{text!r:.80} has no atoms; give a molecule, e.g. 'CCO' for ethanol")
    if mol.GetNumAtoms() > MAX_ATOMS:
        raise ValueError(f"{text!r:.40}… has {mol.GetNumAtoms()} heavy atoms; at most {MAX_ATOMS}")
    return mol


def _one_hot(value: Any, choices: tuple) -> list[float]:
    row = [0.0] * (len(choices) + 1)
    row[choices.index(value) if value in choices else len(choices)] = 1.0
    return row


def _atom_row(atom) -> list[float]:
    return (_one_hot(atom.GetSymbol(), ELEMENTS) + _one_hot(min(atom.GetDegree(), 6), DEGREES)
            + _one_hot(atom.GetFormalCharge(), CHARGES) + _one_hot(min(atom.GetTotalNumHs(), 4), HYDROGENS)
            + _one_hot(str(atom.GetHybridization()), HYBRIDISATIONS)
            + [float(atom.GetIsAromatic()), float(atom.IsInRing())])


def mol_graph(mol) -> MolecularGraph:
    """Nodes are heavy atoms; each bond gives two directed edges with its bond type."""
    import numpy as np
    from rdkit import Chem

    atoms = np.array([_atom_row(a) for a in mol.GetAtoms()], dtype=np.float32)
    src, dst, types = [], [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        kind = str(bond.GetBondType())
        t = BOND_TYPES.index(kind) if kind in BOND_TYPES else 0
        src += [i, j]
        dst += [j, i]
        types += [t, t]
    return MolecularGraph(atoms, np.array([src, dst], dtype=np.int64).reshape(2, -1), np.array(types, dtype=np.int64),
                          Chem.MolToSmiles(mol))


def smiles_graph(smiles: str) -> MolecularGraph:
    """``parse_smiles`` then ``mol_graph``."""
    return mol_graph(parse_smiles(smiles))


def plain_graph(nodes: list[list[float]], edges: list[list[int]]) -> MolecularGraph:
    """Any undirected graph: one feature row per node, edges as ``[i, j]`` pairs of node indices.

    >>> g = plain_graph([[1.0], [1.0], [1.0]], [[0, 1], [1, 2]])
    >>> g.atom_features.shape, g.edges.tolist()
    ((3, 1), [[0, 1, 1, 2], [1, 0, 2, 1]])
    """
    import numpy as np

    if not nodes or len(nodes) > MAX_NODES:
        raise ValueError(f"nodes: {len(nodes)} nodes; give 1 to {MAX_NODES} rows of node features")
    widths = {len(row) for row in nodes}
    if len(widths) != 1 or not 0 < next(iter(widths)) <= MAX_NODE_FEATURES:
        raise ValueError(f"nodes: every node needs the same number of features (1 to {MAX_NODE_FEATURES}), got {sorted(widths)[:5]}")
    features = np.asarray(nodes, dtype=np.float32)
    if not np.isfinite(features).all():
        raise ValueError("nodes: features must be finite numbers")
    bad = [e for e in edges if len(e) != 2 or not all(0 <= int(v) < len(nodes) for v in e)]
    if bad:
        raise ValueError(f"edges: {bad[0]} is not a pair of node indices 0..{len(nodes) - 1}")
    pairs = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    both = np.concatenate([pairs, pairs[:, ::-1]], axis=1).reshape(-1, 2).T  # i→j then j→i for each edge
    return MolecularGraph(features, np.ascontiguousarray(both), np.zeros(both.shape[1], dtype=np.int64), None)


def morgan_fingerprints(smiles: list[str], radius: int = 2, n_bits: int = 2048):
    """Morgan (ECFP4-like) bit vectors, ``(n, n_bits)`` uint8: the baseline's features (bench/graph_property.py)."""
    import numpy as np
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    return np.stack([generator.GetFingerprintAsNumPy(parse_smiles(s)).astype(np.uint8) for s in smiles])
