"""The numeric core of head training: an MLP fitted with AdamW and early stopping,
ensembles merged into one equivalent MLP, numpy inference (calibration: ``calibration.py``).

Kept apart from the trainers (data, embedding, files) so each stays readable.
"""

from __future__ import annotations

from typing import Protocol

from .model_files import mlp_logits, softmax


class MLPConfig(Protocol):
    """What :func:`fit_mlp` reads from a trainer's config (text and image heads both pass theirs)."""

    seed: int
    hidden_sizes: tuple[int, ...] | list[int]
    dropout: float
    learning_rate: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    patience_epochs: int


#: the MLP's logits in numpy: the very function inference backends run, so training and serving agree
forward = mlp_logits
__all__ = ["fit_mlp", "forward", "merge_ensemble", "softmax"]


def fit_mlp(X, y, sample_weight, X_val, y_val, config: MLPConfig, n_classes: int):
    """Fit the MLP with AdamW; keep the weights of the epoch with the lowest validation loss.

    Returns ``(layers, history)`` where layers is ``[(W, b), ...]`` as numpy arrays
    (W shaped ``(in, out)``), input standardisation folded into the first layer.
    """
    import numpy as np
    import torch

    torch.manual_seed(config.seed)
    mean = X.mean(axis=0)
    scale = X.std(axis=0) + 1e-6
    Xs = torch.from_numpy(((X - mean) / scale).astype(np.float32))
    Xv = torch.from_numpy(((X_val - mean) / scale).astype(np.float32))
    yt, yv = torch.from_numpy(y.astype(np.int64)), torch.from_numpy(y_val.astype(np.int64))
    wt = torch.from_numpy(sample_weight.astype(np.float32))
    sizes = [X.shape[1], *config.hidden_sizes, n_classes]
    modules: list = []
    for i in range(len(sizes) - 1):
        if i > 0:
            modules += [torch.nn.ReLU(), torch.nn.Dropout(config.dropout)]
        elif config.dropout:
            modules.append(torch.nn.Dropout(config.dropout / 2))
        modules.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
    net = torch.nn.Sequential(*modules)
    opt = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(config.seed)
    best = (float("inf"), None, 0)
    history = []
    for epoch in range(config.max_epochs):
        net.train()
        order = torch.randperm(len(Xs), generator=gen)
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            loss = (torch.nn.functional.cross_entropy(net(Xs[idx]), yt[idx], reduction="none") * wt[idx]).sum() / wt[idx].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val_logits = net(Xv)
            val_loss = float(torch.nn.functional.cross_entropy(val_logits, yv))
            val_acc = float((val_logits.argmax(1) == yv).float().mean())
        history.append({"epoch": epoch + 1, "val_loss": round(val_loss, 5), "val_accuracy": round(val_acc, 5)})
        if val_loss < best[0] - 1e-5:
            best = (val_loss, {k: v.clone() for k, v in net.state_dict().items()}, epoch + 1)
        elif epoch + 1 - best[2] >= config.patience_epochs:
            break
    net.load_state_dict(best[1])
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    layers = [(m.weight.detach().numpy().T.astype(np.float32).copy(), m.bias.detach().numpy().astype(np.float32).copy()) for m in linears]
    # fold (x - mean) / scale into the first layer so inference takes raw features
    w0, b0 = layers[0]
    layers[0] = ((w0 / scale[:, None]).astype(np.float32), (b0 - (mean / scale) @ w0).astype(np.float32))
    return layers, {"epochs_run": len(history), "best_epoch": best[2], "history": history}


def merge_ensemble(members: list[list]) -> list:
    """Merge K MLPs of the same shape into one whose logits are the mean of theirs.

    Hidden units are concatenated (first layer side by side, middle layers block
    diagonal) and the last layer averages, so the inference format stays a plain MLP.
    """
    import numpy as np

    k = len(members)
    if k == 1:
        return members[0]
    n_layers = len(members[0])
    merged = []
    for i in range(n_layers):
        ws = [m[i][0] for m in members]
        bs = [m[i][1] for m in members]
        if n_layers == 1:
            w, b = sum(ws) / k, sum(bs) / k
        elif i == 0:
            w, b = np.hstack(ws), np.concatenate(bs)
        elif i == n_layers - 1:
            w, b = np.vstack(ws) / k, sum(bs) / k
        else:
            w = np.zeros((sum(x.shape[0] for x in ws), sum(x.shape[1] for x in ws)), dtype=np.float32)
            r = c = 0
            for x in ws:
                w[r:r + x.shape[0], c:c + x.shape[1]] = x
                r, c = r + x.shape[0], c + x.shape[1]
            b = np.concatenate(bs)
        merged.append((np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)))
    return merged
