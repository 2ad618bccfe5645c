"""A GIN (Xu et al., "How Powerful are Graph Neural Networks?", ICLR 2019) in plain PyTorch, with bond types.

Each layer sums, for every atom, its neighbours' states plus an embedding of the bond to them
(GINE, Hu et al. 2020), adds ``(1 + eps)`` times its own state and passes the sum through an MLP.
Every layer's states are summed over the atoms of each molecule and concatenated (jumping
knowledge), and a small MLP reads out the property. Message passing is ``index_add_`` on one
batch graph, so no graph library is needed.

>>> import torch
>>> from .molecules import smiles_graph
>>> net = GIN(GINConfig(hidden_size=16, n_layers=2), n_outputs=1)
>>> batch = collate([smiles_graph("CCO"), smiles_graph("c1ccccc1")])
>>> net.eval()(batch).shape
torch.Size([2, 1])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .molecules import N_ATOM_FEATURES, N_BOND_TYPES, MolecularGraph


@dataclass
class GINConfig:
    hidden_size: int = 128
    n_layers: int = 4
    dropout: float = 0.1
    n_node_features: int = N_ATOM_FEATURES   # a molecule's atom features, or a plain graph's node feature count


def collate(graphs: list[MolecularGraph]) -> dict[str, Any]:
    """One batch graph: atoms stacked, edges renumbered, and ``graph_of_atom`` saying whose atom each is."""
    import numpy as np
    import torch

    offsets = np.cumsum([0] + [len(g.atom_features) for g in graphs])
    return {
        "atoms": torch.from_numpy(np.concatenate([g.atom_features for g in graphs])),
        "edges": torch.from_numpy(np.concatenate([g.edges + off for g, off in zip(graphs, offsets)], axis=1)),
        "bond_types": torch.from_numpy(np.concatenate([g.bond_types for g in graphs])),
        "graph_of_atom": torch.from_numpy(np.repeat(np.arange(len(graphs)), np.diff(offsets))),
        "n_graphs": len(graphs),
    }


def _module():
    import torch
    from torch import nn

    class GINLayer(nn.Module):
        def __init__(self, hidden: int) -> None:
            super().__init__()
            self.bond_embedding = nn.Embedding(N_BOND_TYPES, hidden)
            self.eps = nn.Parameter(torch.zeros(1))
            self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.ReLU(), nn.Linear(hidden, hidden))

        def forward(self, h, edges, bond_types):
            messages = torch.relu(h[edges[0]] + self.bond_embedding(bond_types))
            summed = torch.zeros_like(h).index_add_(0, edges[1], messages)
            return self.mlp((1 + self.eps) * h + summed)

    class GINNet(nn.Module):
        def __init__(self, config: GINConfig, n_outputs: int) -> None:
            super().__init__()
            hidden = config.hidden_size
            self.embed = nn.Linear(config.n_node_features, hidden)
            self.layers = nn.ModuleList(GINLayer(hidden) for _ in range(config.n_layers))
            self.dropout = nn.Dropout(config.dropout)
            self.readout = nn.Sequential(nn.Linear(hidden * (config.n_layers + 1), hidden), nn.ReLU(),
                                         nn.Dropout(config.dropout), nn.Linear(hidden, n_outputs))

        def forward(self, batch: dict[str, Any]):
            h = self.embed(batch["atoms"])
            pooled = [self._pool(h, batch)]
            for layer in self.layers:
                h = self.dropout(torch.relu(layer(h, batch["edges"], batch["bond_types"])))
                pooled.append(self._pool(h, batch))
            return self.readout(torch.cat(pooled, dim=1))

        @staticmethod
        def _pool(h, batch):
            out = torch.zeros(batch["n_graphs"], h.shape[1], dtype=h.dtype)
            return out.index_add_(0, batch["graph_of_atom"], h)

    return GINNet


def GIN(config: GINConfig, n_outputs: int):
    """A new, untrained GIN with ``n_outputs`` outputs (1 for a property, one per label for a classifier)."""
    return _module()(config, n_outputs)
