"""A two-tower neural recommender in PyTorch: an item tower over item ids and features, a user tower
over the items the user interacted with.

- item tower: an id embedding plus a linear map of the item's attribute tokens (MovieLens genres,
  one multi-hot column per token), then ReLU and a linear layer;
- user tower: the weighted mean of the user's items' "history" embeddings (a second table), then
  ReLU and a linear layer — no user id, so a new user's vector is the tower applied to their first
  events (exact fold-in at run time, in numpy: ``user_vector``);
- trained with in-batch softmax over (user, item) pairs: each pair's item against the batch's
  other items, at ``temperature``, with the logQ correction for popularity-sampled negatives; the
  target item is left out of its own user's history.

The towers' outputs are L2-normalised, so a score is a cosine. Item vectors and the known users'
vectors are computed once after training and stored like ALS factors (``model.py``), with the user
tower's weights for fold-in.

>>> tower = fit_two_tower(user_items, item_tokens, TwoTowerConfig(factors=32, epochs=5))   # doctest: +SKIP
>>> tower["item_factors"].shape                                                             # doctest: +SKIP
(9066, 32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TwoTowerConfig:
    factors: int = 64
    epochs: int = 5
    batch_size: int = 1024
    learning_rate: float = 0.005
    temperature: float = 0.1
    seed: int = 0


def item_tokens(attributes: dict[str, Any], n_items: int, max_tokens: int = 200):
    """Items × attribute tokens (multi-hot CSR) from list-like attributes (``genres``: ``Action|Comedy``), or None."""
    import numpy as np
    import scipy.sparse as sp

    rows, cols, vocab = [], [], {}
    for name, values in attributes.items():
        split = [[t.strip().lower() for t in str(v).split("|") if t.strip()] for v in values]
        if not any(len(s) > 1 for s in split) and name not in ("genres", "genre", "category", "categories", "tags"):
            continue  # free text (titles) is for the content cold start, not a token feature
        for i, tokens in enumerate(split):
            for t in tokens:
                key = (name, t)
                if key not in vocab and len(vocab) < max_tokens:
                    vocab[key] = len(vocab)
                if key in vocab:
                    rows.append(i)
                    cols.append(vocab[key])
    if not vocab:
        return None
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_items, len(vocab)))


def _towers(n_items: int, n_tokens: int, d: int):
    import torch

    class Towers(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.item_id = torch.nn.Embedding(n_items, d)
            self.item_tokens = torch.nn.Linear(max(n_tokens, 1), d, bias=False)
            self.item_out = torch.nn.Linear(d, d)
            self.history = torch.nn.Embedding(n_items, d)
            self.user_out = torch.nn.Linear(d, d)
            for emb in (self.item_id, self.history):
                torch.nn.init.normal_(emb.weight, std=0.05)

        def items(self, ids, tokens):
            x = self.item_id(ids) + self.item_tokens(tokens)
            return torch.nn.functional.normalize(self.item_out(torch.relu(x)), dim=-1)

        def users(self, pooled):
            return torch.nn.functional.normalize(self.user_out(torch.relu(pooled)), dim=-1)

    return Towers()


def _pooled_history(model, ui, users, targets, target_weights, totals):
    """Weighted mean history embedding of each (user, target) pair's user, the target left out."""
    import numpy as np
    import torch

    rows = ui[users.numpy()].tocoo()
    batch = torch.sparse_coo_tensor(np.vstack([rows.row, rows.col]), rows.data.astype(np.float32), rows.shape,
                                    is_coalesced=True, check_invariants=False)  # scipy's rows are valid
    sums = torch.sparse.mm(batch, model.history.weight) - model.history(targets) * target_weights[:, None]
    return sums / torch.clamp(totals[users] - target_weights, min=1e-6)[:, None]


def fit_two_tower(ui, tokens, config: TwoTowerConfig) -> dict[str, Any]:
    """Train on the users × items matrix ``ui`` (weights) and item ``tokens``; returns factors and tower weights."""
    import numpy as np
    import torch

    torch.manual_seed(config.seed)
    n_items = ui.shape[1]
    coo = ui.tocoo()
    pairs_u, pairs_i = torch.as_tensor(coo.row, dtype=torch.long), torch.as_tensor(coo.col, dtype=torch.long)
    pair_w = torch.as_tensor(coo.data, dtype=torch.float32)
    totals = torch.as_tensor(np.asarray(ui.sum(axis=1)).ravel(), dtype=torch.float32)
    item_counts = np.bincount(coo.col, minlength=n_items).astype(np.float64) + 1.0
    log_q = torch.as_tensor(np.log(item_counts / item_counts.sum()), dtype=torch.float32)
    token_dense = torch.as_tensor(tokens.toarray() if tokens is not None else np.zeros((n_items, 1), np.float32))
    model = _towers(n_items, token_dense.shape[1], config.factors)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    for _epoch in range(config.epochs):
        order = torch.randperm(len(pairs_u), generator=generator)
        for lo in range(0, len(order), config.batch_size):
            batch = order[lo:lo + config.batch_size]
            users, targets = pairs_u[batch], pairs_i[batch]
            u = model.users(_pooled_history(model, ui, users, targets, pair_w[batch], totals))
            v = model.items(targets, token_dense[targets])
            # logQ correction: in-batch negatives are drawn by popularity, so without it popular items are
            # pushed down as negatives more often than they appear as positives (Yi et al., RecSys 2019)
            logits = u @ v.T / config.temperature - log_q[targets][None, :]
            same = targets[:, None] == targets[None, :]  # a repeated item in the batch is no negative
            logits = logits.masked_fill(same & ~torch.eye(len(batch), dtype=torch.bool), float("-inf"))
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return _export(model, ui, token_dense)


def _export(model, ui, token_dense) -> dict[str, Any]:
    import numpy as np
    import torch

    with torch.no_grad():
        item_vectors = model.items(torch.arange(ui.shape[1]), token_dense).numpy()
        history = model.history.weight.numpy().astype(np.float32)
        weights = {"user_out_w": model.user_out.weight.numpy().T.astype(np.float32),
                   "user_out_b": model.user_out.bias.numpy().astype(np.float32), "history": history}
    users = np.stack([user_vector(weights, ui[u].indices, ui[u].data) for u in range(ui.shape[0])])
    return {"item_factors": item_vectors.astype(np.float32), "user_factors": users.astype(np.float32), "tower": weights}


def user_vector(tower: dict[str, Any], items, weights):
    """The user tower in numpy: normalised ``relu(weighted mean of history[items]) @ W + b``."""
    import numpy as np

    w = np.asarray(weights, dtype=np.float64)
    pooled = (tower["history"][np.asarray(items)] * w[:, None]).sum(axis=0) / max(w.sum(), 1e-9)
    out = np.maximum(pooled, 0) @ tower["user_out_w"] + tower["user_out_b"]
    return out / max(float(np.linalg.norm(out)), 1e-9)
