"""Reading logged decisions: one row per decision, with its context, the action, the reward and its propensity.

    segment,basket_eur,action,reward,propensity
    new,42.0,offer_a,1,0.25
    loyal,15.5,offer_c,0,0.25

Every column other than the action, reward and propensity is context (or name them with
``context_cols``; ``drop_cols`` leaves some out). A cell that reads as a number is a number, the
rest are categories (``categorical_cols`` forces a column to be categorical, e.g. a position or a
zip code). Files (CSV, TSV, JSONL, Parquet) and database URLs are read by ``data.loaders.read_table``.

>>> logged = read_logged(Path("logged.csv"), LoggedColumns())      # doctest: +SKIP
>>> logged.actions[:2], logged.rewards[:2], logged.contexts[0]      # doctest: +SKIP
(['offer_a', 'offer_c'], [1.0, 0.0], {'segment': 'new', 'basket_eur': 42.0})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...core.errors import BadInput


@dataclass(frozen=True)
class LoggedColumns:
    action_col: str = "action"
    reward_col: str = "reward"
    propensity_col: str = "propensity"
    context_cols: tuple[str, ...] = ()      # default: every other column
    drop_cols: tuple[str, ...] = ()
    categorical_cols: tuple[str, ...] = ()
    format: str | None = None               # csv, tsv, jsonl, json, parquet when the suffix does not say


@dataclass
class Logged:
    contexts: list[dict[str, Any]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    propensities: list[float] | None = None     # None when the table has no propensity column
    lines: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.actions)

    def action_set(self) -> list[str]:
        return sorted(set(self.actions), key=_action_order)


def _action_order(name: str) -> tuple:
    return (0, int(name), "") if name.lstrip("-").isdigit() else (1, 0, name)


def _cell(value: Any, categorical: bool) -> Any:
    """A context cell: None when empty, a float when it reads as a finite number (unless categorical)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if categorical or isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(value)


def _number(value: Any, where: str, col: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{where}: {col!r} is {value!r:.40}; expected a number") from None
    if not math.isfinite(number):
        raise BadInput(f"{where}: {col!r} is {value!r}; expected a finite number")
    return number


def read_logged(source: str | Path, columns: LoggedColumns, *, need_propensity: bool = False) -> Logged:
    """Every logged decision of ``source`` in order; a bad cell is a ``BadInput`` naming its line."""
    from ...data.loaders import read_table

    rows = read_table(source, columns.format)
    found = list(rows[0][1])
    needed = [columns.action_col, columns.reward_col] + ([columns.propensity_col] if need_propensity else [])
    missing = [c for c in needed + list(columns.context_cols) if c not in found]
    if missing:
        raise BadInput(f"{source}: no column(s) {missing}; the table has {found[:30]}",
                       hint="name them with action_col, reward_col, propensity_col (--param reward_col=click)")
    special = {columns.action_col, columns.reward_col, columns.propensity_col}
    context_cols = list(columns.context_cols) or [c for c in found if c not in special and c not in columns.drop_cols
                                                  and c not in ("", "Unnamed: 0")]
    has_propensity = columns.propensity_col in found
    logged = Logged(propensities=[] if has_propensity else None)
    categorical = set(columns.categorical_cols)
    for line, row in rows:
        where = f"{source}:{line}"
        action = row.get(columns.action_col)
        if action is None or not str(action).strip():
            raise BadInput(f"{where}: empty {columns.action_col!r}", hint="every row needs the action that was taken")
        logged.actions.append(str(action).strip())
        logged.rewards.append(_number(row.get(columns.reward_col), where, columns.reward_col))
        if logged.propensities is not None:
            p = _number(row.get(columns.propensity_col), where, columns.propensity_col)
            if not 0 < p <= 1:
                raise BadInput(f"{where}: {columns.propensity_col!r} is {p}; expected a probability in (0, 1]",
                               hint="the logging policy's probability of the logged action; drop rows where it is 0")
            logged.propensities.append(p)
        logged.contexts.append({c: _cell(row.get(c), c in categorical) for c in context_cols})
        logged.lines.append(where)
    return logged
