"""LightGBM's exact TreeSHAP values for large batches, from a table per tree instead of a tree walk per row.

Path-dependent TreeSHAP (what ``Booster.predict(..., pred_contrib=True)`` computes) reads a row only
through the direction it takes at each split of a tree: two rows that go the same way at every split
of a tree get the same values from it. So each tree's values are cached by that pattern of
directions (one bit per split; a tree of 6 leaves has at most 2^5 = 32 patterns), LightGBM filling
the cache for patterns not seen yet (one tree at a time, on one row that takes the pattern). A batch
then costs one vectorised comparison per split and one table lookup per tree.

The directions follow LightGBM's rules (``tree.h``: missing values by ``missing_type`` and
``default_left``; categories by membership). ``contributions`` checks every row's values against
the booster's raw score, and returns ``None`` (the caller then asks LightGBM) for trees with too
many splits or when anything disagrees.

>>> shap = PatternShap(booster)                        # doctest: +SKIP
>>> phi = shap.contributions(X)                        # doctest: +SKIP
>>> np.allclose(phi, booster.predict(X, pred_contrib=True))   # doctest: +SKIP
True
"""

from __future__ import annotations

from typing import Any

#: trees with more splits than this are not tabled (2^splits patterns)
MAX_SPLITS_PER_TREE = 12
#: nor are models whose table would have more rows than this (rows x (features + 1) floats)
MAX_TABLE_ROWS = 200_000


class PatternShap:
    """Exact TreeSHAP of a binary LightGBM booster, by decision pattern per tree."""

    def __init__(self, booster) -> None:
        import numpy as np

        self.booster = booster
        self.n_features = booster.num_feature()
        trees = booster.dump_model()["tree_info"]
        self.n_trees = len(trees)
        splits: list[dict[str, Any]] = []
        self.usable = True
        for t, info in enumerate(trees):
            nodes = _splits(info["tree_structure"])
            if len(nodes) > MAX_SPLITS_PER_TREE:
                self.usable = False
                return
            for bit, node in enumerate(nodes):
                splits.append({**node, "tree": t, "bit": bit})
        self.splits = splits
        self.feature = np.array([s["split_feature"] for s in splits], dtype=int)
        self.tree = np.array([s["tree"] for s in splits], dtype=int)
        self.weight = np.array([1 << s["bit"] for s in splits], dtype=np.int64)
        numeric = [s["decision_type"] == "<=" for s in splits]
        self.numeric = np.array(numeric, dtype=bool)
        self.threshold = np.array([float(s["threshold"]) if n else np.nan for s, n in zip(splits, numeric)])
        self.default_left = np.array([bool(s["default_left"]) for s in splits])
        self.missing = np.array([s["missing_type"] for s in splits])
        self.starts = np.searchsorted(self.tree, np.arange(self.n_trees))
        if len(np.unique(self.tree)) != self.n_trees:  # a tree without splits (a constant): not tabled
            self.usable = False
            return
        # categorical splits: one row of a membership table per split, indexed by the category code
        self.cat_index = np.flatnonzero(~self.numeric)
        sets = [{int(c) for c in str(splits[i]["threshold"]).split("||")} for i in self.cat_index]
        width = max((max(c) for c in sets), default=0) + 2
        self.members = np.zeros((len(sets), width), dtype=bool)
        for row, cats in enumerate(sets):
            self.members[row, sorted(cats)] = True
        self.nan_default = self.numeric & (self.missing == "NaN")
        self.zero_index = np.flatnonzero(self.numeric & (self.missing == "Zero"))
        # the table: one row per (tree, pattern), trees one after another; filled as patterns are met
        sizes = np.array([1 << sum(1 for s in splits if s["tree"] == t) for t in range(self.n_trees)], dtype=np.int64)
        if sizes.sum() > MAX_TABLE_ROWS:
            self.usable = False
            return
        self.offsets = np.r_[0, np.cumsum(sizes)[:-1]]
        self.table = np.zeros((int(sizes.sum()), self.n_features + 1))
        self.filled = np.zeros(len(self.table), dtype=bool)

    def directions(self, X):
        """``(n, splits)`` booleans: True where a row goes left."""
        import numpy as np

        values = X[:, self.feature]
        left = values <= self.threshold  # NaN compares False; fixed below where there are any
        nan = np.isnan(values)
        if nan.any():
            # missing_type NaN: the learned default way; otherwise a missing value is read as 0
            as_zero = np.where(nan, 0.0, values)
            left = np.where(nan & self.nan_default, self.default_left, np.where(nan, as_zero <= self.threshold, left))
        if len(self.zero_index):
            v = np.where(np.isnan(values[:, self.zero_index]), 0.0, values[:, self.zero_index])
            zero = np.abs(v) <= 1e-35
            left[:, self.zero_index] = np.where(zero, self.default_left[self.zero_index], left[:, self.zero_index])
        if len(self.cat_index):
            codes = values[:, self.cat_index]
            # a missing or negative category goes right, as one never seen in training does (LightGBM 4)
            ok = ~np.isnan(codes) & (codes >= 0) & (codes < self.members.shape[1])
            safe = np.where(ok, codes, self.members.shape[1] - 1).astype(np.int64)
            left[:, self.cat_index] = ok & self.members[np.arange(len(self.cat_index)), safe]
        return left

    def contributions(self, X):
        """``(n, features + 1)`` exactly as ``pred_contrib=True`` gives them, or ``None`` when not available."""
        import numpy as np
        from scipy.sparse import csr_matrix

        if not self.usable or not len(X):
            return None
        # a tree's pattern: the sum of the bits of its splits that go left (splits are stored tree by tree)
        cells = np.add.reduceat(self.directions(X) * self.weight, self.starts, axis=1) + self.offsets  # (n, trees)
        unknown = ~self.filled[cells]
        if unknown.any():
            self._fill(X, cells, unknown)
        n = len(X)
        # each row sums one table row per tree: a sparse (rows x table rows) matrix of ones times the table
        pick = csr_matrix((np.ones(n * self.n_trees), cells.ravel(), np.arange(0, n * self.n_trees + 1, self.n_trees)),
                          shape=(n, len(self.table)))
        phi = np.asarray(pick @ self.table)
        raw = np.asarray(self.booster.predict(X, raw_score=True), dtype=float)
        return phi if np.allclose(phi.sum(axis=1), raw, atol=1e-6) else None

    def _fill(self, X, cells, unknown) -> None:
        """Ask LightGBM for the values of every (tree, pattern) not in the table yet, on one row that takes it."""
        import numpy as np

        rows_at, trees_at = np.nonzero(unknown)
        new, first = np.unique(cells[rows_at, trees_at], return_index=True)
        by_tree: dict[int, list[tuple[int, int]]] = {}
        for cell, j in zip(new.tolist(), first.tolist()):
            by_tree.setdefault(int(trees_at[j]), []).append((cell, int(rows_at[j])))
        for t, wanted in by_tree.items():
            values = self.booster.predict(X[[i for _, i in wanted]], pred_contrib=True, start_iteration=t, num_iteration=1)
            for (cell, _), v in zip(wanted, np.asarray(values)):
                self.table[cell] = v
                self.filled[cell] = True


def _splits(node: dict[str, Any]) -> list[dict[str, Any]]:
    """A tree's split nodes, depth first."""
    if "split_feature" not in node:
        return []
    own = {k: node[k] for k in ("split_feature", "threshold", "decision_type", "default_left", "missing_type")}
    return [own, *_splits(node["left_child"]), *_splits(node["right_child"])]
