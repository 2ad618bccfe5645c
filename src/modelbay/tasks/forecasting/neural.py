"""A neural global forecaster: N-BEATS (generic blocks) in PyTorch, learned across a table's series.

N-BEATS (Oreshkin et al., 2020) maps the last ``input_size`` values straight to the next
``horizon`` values with a stack of fully connected blocks; each block removes what it explains
from its input (the backcast) and adds its part of the forecast. Each training window is divided
by the mean absolute value of its input, so series of any scale share one model. It is trained on
windows sampled from every series, with the MAE, a fixed seed and one thread (deterministic on one
machine). Longer horizons than it was trained for are forecast by feeding its forecast back in.
Regressors are not used (the statistical AutoARIMA and the global LightGBM take them).

Written with plain PyTorch (already a dependency): the network is 40 lines; neuralforecast would
add PyTorch Lightning, Ray Tune and optuna for the same model.

>>> model = fit_nbeats([[float(i % 4) for i in range(60)]] * 4, season_length=4, horizon=4)   # doctest: +SKIP
>>> forecast_nbeats(model, [float(i % 4) for i in range(60)], 4).round(1)                   # doctest: +SKIP
array([0., 1., 2., 3.])
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

NAME = "NBEATS"


@dataclass(frozen=True)
class NBeatsConfig:
    input_size: int          # values the network reads
    horizon: int             # values it forecasts at once
    hidden_units: int = 128
    n_blocks: int = 3
    layers_per_block: int = 2
    train_steps: int = 600
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0


@dataclass
class NBeatsModel:
    config: NBeatsConfig
    network: Any             # torch.nn.Module

    @property
    def min_history(self) -> int:
        return self.config.input_size


def input_size_for(season_length: int, horizon: int) -> int:
    """Two seasons or two horizons, whichever is longer, and at least 8 values."""
    return max(8, 2 * max(int(season_length), 1), 2 * int(horizon))


def _network(config: NBeatsConfig):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            sizes = [config.input_size] + [config.hidden_units] * config.layers_per_block
            self.body = nn.Sequential(*[m for a, b in itertools.pairwise(sizes) for m in (nn.Linear(a, b), nn.ReLU())])
            self.theta = nn.Linear(config.hidden_units, config.input_size + config.horizon)

        def forward(self, x):
            out = self.theta(self.body(x))
            return out[:, :config.input_size], out[:, config.input_size:]

    class NBeats(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(Block() for _ in range(config.n_blocks))

        def forward(self, x):
            forecast = torch.zeros(x.shape[0], config.horizon, dtype=x.dtype)
            for block in self.blocks:
                backcast, part = block(x)
                x, forecast = x - backcast, forecast + part
            return forecast

    return NBeats()


def _windows(histories: Sequence[Sequence[float]], config: NBeatsConfig):
    """Every (input, target) window of every history, each divided by its input's mean absolute value."""
    import numpy as np

    inputs, targets = [], []
    span = config.input_size + config.horizon
    for history in histories:
        y = np.asarray(history, dtype=np.float32)
        for end in range(span, len(y) + 1):
            window = y[end - span:end]
            scale = max(float(np.abs(window[:config.input_size]).mean()), 1e-6)
            inputs.append(window[:config.input_size] / scale)
            targets.append(window[config.input_size:] / scale)
    return np.asarray(inputs, dtype=np.float32), np.asarray(targets, dtype=np.float32)


def fit_nbeats(histories: Sequence[Sequence[float]], season_length: int, horizon: int,
               regressors: Sequence[Any] | None = None) -> NBeatsModel | None:
    """One network over every history's windows; None if there are fewer than 20 windows."""
    import torch

    config = NBeatsConfig(input_size=input_size_for(season_length, horizon), horizon=int(horizon))
    x, y = _windows(histories, config)
    if len(x) < 20:
        return None
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    network = _network(config)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is faster and the same on every run
    try:
        for _ in range(config.train_steps):
            batch = torch.randint(0, len(inputs), (min(config.batch_size, len(inputs)),), generator=generator)
            loss = (network(inputs[batch]) - targets[batch]).abs().mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    finally:
        torch.set_num_threads(threads)
    network.eval()
    return NBeatsModel(config, network)


def forecast_nbeats(model: NBeatsModel, history: Sequence[float], horizon: int, regressors=None):
    """``horizon`` values after ``history`` (in blocks of the trained horizon); None if the history is too short."""
    import numpy as np
    import torch

    config = model.config
    if len(history) < config.input_size:
        return None
    y = list(np.asarray(history, dtype=np.float64))
    with torch.no_grad():
        while len(y) < len(history) + int(horizon):
            window = np.asarray(y[-config.input_size:], dtype=np.float32)
            scale = max(float(np.abs(window).mean()), 1e-6)
            out = model.network(torch.from_numpy(window / scale)[None, :])[0].numpy() * scale
            y.extend(float(v) for v in out)
    forecast = np.asarray(y[len(history):len(history) + int(horizon)])
    return forecast if np.isfinite(forecast).all() else None


def save_nbeats(model: NBeatsModel, path: Path) -> None:
    """The weights as ``path`` (safetensors) and the configuration beside it (``path`` + ``.json``)."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.network.state_dict().items()}, str(path))
    Path(f"{path}.json").write_text(json.dumps(asdict(model.config)), encoding="utf-8")


def load_nbeats(path: Path, season_length: int) -> NBeatsModel:
    from safetensors.torch import load_file

    config = NBeatsConfig(**json.loads(Path(f"{path}.json").read_text(encoding="utf-8")))
    network = _network(config)
    network.load_state_dict(load_file(str(path)))
    network.eval()
    return NBeatsModel(config, network)
