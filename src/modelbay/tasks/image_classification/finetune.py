"""The optional second stage of image transfer learning: fine-tune the last EfficientNet blocks with the head.

The frozen front of the network runs once per image (``frozen_part``, during feature
extraction) and its activations are kept in float16, so every fine-tuning epoch only runs
the last ``unfreeze_blocks`` blocks — on a CPU that is what makes this stage affordable.
Batch-norm statistics stay frozen (a few hundred images estimate them worse than ImageNet
did); the blocks train at ``unfreeze_learning_rate``, the head at 10x that, with label
smoothing. The epoch with the best validation accuracy wins (ties: the lower loss), epoch 0
(the frozen result) included: when fine-tuning does not help, nothing but the head is saved.
Accuracy rather than loss chooses because fine-tuning makes the network confident — on
Fashion-MNIST validation loss rose while accuracy went 0.855 → 0.879 — and the softmax
temperature fitted afterwards undoes the overconfidence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import TransferConfig


def frozen_part(net, x, split: int):
    """Stem and blocks ``[0, split)``: the activations entering block ``split``."""
    x = net._swish(net._bn0(net._conv_stem(x)))
    for block in net._blocks[:split]:
        x = block(x)
    return x


def tail(net, acts, split: int, *, train: bool = False):
    """Blocks ``[split, end)``, the 1x1 head convolution and average pooling: (n, 1280) features.

    With ``train`` the blocks use the network's drop-connect (stochastic depth), as its
    ``extract_features`` does in training mode.
    """
    n = len(net._blocks)
    rate = net._global_params.drop_connect_rate
    for idx in range(split, n):
        acts = net._blocks[idx](acts, drop_connect_rate=rate * idx / n if (train and rate) else None)
    return net._swish(net._bn1(net._conv_head(acts))).mean((2, 3))


def tail_prefixes(net, split: int) -> tuple[str, ...]:
    """State-dict key prefixes of the fine-tuned part (what ``backbone.pt`` holds)."""
    return (*(f"_blocks.{i}." for i in range(split, len(net._blocks))), "_conv_head.", "_bn1.")


def _torch_head(layers, dropout: float):
    import torch

    modules: list = []
    for i, (w, b) in enumerate(layers):
        if i:
            modules += [torch.nn.ReLU(), torch.nn.Dropout(dropout)]
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b.copy()))
        modules.append(linear)
    return torch.nn.Sequential(*modules)


def fine_tune_tail(net, split: int, acts, tr_rows, va_rows, y, weights, layers, config: TransferConfig, tick):
    """Fine-tune blocks ``[split, end)`` and the head on kept activations.

    Returns ``(layers, delta, info)``: the head as numpy ``[(W, b), ...]``, the fine-tuned
    tensors (a partial state dict, or None when epoch 0 stayed best) and a report whose
    ``val_features`` are the validation features of the chosen network.
    """
    import time

    import torch

    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    tuner = _TailTuner(net, split, acts, tr_rows, va_rows, y, weights, layers, config)
    feats, loss, acc = tuner.evaluate()
    history: list[dict[str, Any]] = [{"epoch": 0, "val_loss": round(loss, 5), "val_accuracy": round(acc, 5)}]
    best = ((acc, -loss), tuner.snapshot(), 0, feats)
    gen = torch.Generator().manual_seed(config.seed)
    for epoch in range(1, config.unfreeze_epochs + 1):
        tuner.train_epoch(gen)
        feats, loss, acc = tuner.evaluate()
        history.append({"epoch": epoch, "val_loss": round(loss, 5), "val_accuracy": round(acc, 5)})
        if (acc, -loss) > best[0]:
            best = ((acc, -loss), tuner.snapshot(), epoch, feats)
        tick(epoch)
    (net_state, head_state), best_epoch = best[1], best[2]
    new_layers = tuner.restore(net_state, head_state)
    delta = net_state if best_epoch else None
    info = {"epochs_run": config.unfreeze_epochs, "best_epoch": best_epoch, "history": history,
            "seconds": round(time.perf_counter() - t0, 1), "val_features": best[3]}
    return new_layers, delta, info


class _TailTuner:
    """The last blocks and the head in training: their optimiser, the kept activations and the labels."""

    def __init__(self, net, split: int, acts, tr_rows, va_rows, y, weights, layers, config: TransferConfig) -> None:
        import numpy as np
        import torch

        self.net, self.split, self.config = net, split, config
        acts = acts.clone()  # made under inference_mode; a normal tensor can feed autograd
        self.a_tr, self.a_va = acts[torch.from_numpy(tr_rows)], acts[torch.from_numpy(va_rows)]
        self.yt = torch.from_numpy(y[tr_rows].astype(np.int64))
        self.yv = torch.from_numpy(y[va_rows].astype(np.int64))
        self.wt = torch.from_numpy(np.asarray(weights, dtype=np.float32))
        self.prefixes = tail_prefixes(net, split)
        for name, p in net.named_parameters():
            p.requires_grad_(name.startswith(self.prefixes))
        tail_params = [p for name, p in net.named_parameters() if name.startswith(self.prefixes)]
        self.head = _torch_head(layers, config.dropout)
        lr = config.unfreeze_learning_rate
        self.opt = torch.optim.AdamW([{"params": tail_params, "lr": lr},
                                      {"params": list(self.head.parameters()), "lr": lr * 10}],
                                     weight_decay=config.weight_decay)

    @staticmethod
    def _channels_last(a):
        import torch

        return a.float().contiguous(memory_format=torch.channels_last)

    def evaluate(self):
        """``(validation features, loss, accuracy)`` of the network and head as they are now."""
        import torch

        self.net.eval()
        self.head.eval()
        a_va = self.a_va
        with torch.no_grad():
            feats = torch.cat([tail(self.net, self._channels_last(a_va[i:i + 256]), self.split)
                               for i in range(0, len(a_va), 256)])
            logits = self.head(feats)
            loss = float(torch.nn.functional.cross_entropy(logits, self.yv))
            return feats.numpy(), loss, float((logits.argmax(1) == self.yv).float().mean())

    def snapshot(self):
        return ({k: v.detach().clone() for k, v in self.net.state_dict().items() if k.startswith(self.prefixes)},
                {k: v.detach().clone() for k, v in self.head.state_dict().items()})

    def train_epoch(self, gen) -> None:
        """One pass over the training rows in ``gen``'s order; batch-norm statistics stay frozen."""
        import torch

        self.net.train()
        for m in self.net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
        self.head.train()
        config, wt = self.config, self.wt
        order = torch.randperm(len(self.a_tr), generator=gen)
        for start in range(0, len(order), config.unfreeze_batch_size):
            idx = order[start:start + config.unfreeze_batch_size]
            logits = self.head(tail(self.net, self._channels_last(self.a_tr[idx]), self.split, train=True))
            loss = torch.nn.functional.cross_entropy(logits, self.yt[idx], reduction="none",
                                                     label_smoothing=config.label_smoothing)
            loss = (loss * wt[idx]).sum() / wt[idx].sum()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()

    def restore(self, net_state, head_state) -> list:
        """Load a snapshot back; returns the head as numpy ``[(W, b), ...]``."""
        import numpy as np
        import torch

        self.net.load_state_dict(net_state, strict=False)
        self.head.load_state_dict(head_state)
        self.net.eval()
        linears = [m for m in self.head if isinstance(m, torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.astype(np.float32).copy(), m.bias.detach().numpy().astype(np.float32).copy())
                for m in linears]
