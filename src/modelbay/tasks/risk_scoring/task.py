"""Risk scoring (credit, fraud, churn): a calibrated risk per row, a decision by the model's threshold, and reasons.

An input is one row of a table, ``{"features": {"Income": 80, "Records": "yes", ...}}`` (columns
the model does not know are an error; missing ones are missing values). The output:

* ``risk`` — the calibrated probability of the positive outcome (``bad``, ``churn``…);
* ``decision`` — ``flag`` when the risk is at least the model's ``threshold`` (chosen at training
  for a cost ratio or a precision target, ``threshold.py``), else ``pass``; ``label`` is the outcome
  the decision stands for;
* ``reasons`` — the ``max_reasons`` features that moved this row's risk most, from exact TreeSHAP
  values, each with its value and its contribution on the probability scale (``model.py`` says how),
  and ``explanation``, the same as a sentence.

``modelbay eval MODEL --data live.csv --drift`` compares a live table with the training data (PSI
per feature, ``modelbay.ml.drift``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from ...core.errors import ModelUnavailable
from ...core.protocols import DriftReporting, Evaluable, Trainable
from ...core.registry import register
from ...core.task import Task, TaskOutput
from ...ml.tabular.row_input import FeatureValue, RowInput
from .model import RiskModel
from .reasons import top_reasons


class RiskInput(RowInput):
    """One row to score (see ``modelbay.ml.tabular.row_input``), and how many reasons to give."""

    max_reasons: int = Field(3, ge=0, le=50, description="features to explain (largest contributions first); 0: none")


class Reason(BaseModel):
    feature: str = Field(..., description="the column")
    value: FeatureValue = Field(..., description="its value in this row (null: missing)")
    contribution: float = Field(..., description="how much this value raised (+) or lowered (-) the risk, in probability")
    log_odds: float = Field(..., description="its exact TreeSHAP value, in the booster's log-odds")
    text: str = Field(..., description='the same as a sentence: "Income = 45 raised the risk by 0.12"')


class RiskOutput(TaskOutput):
    risk: float = Field(..., description="calibrated probability of the positive outcome")
    decision: Literal["flag", "pass"] = Field(..., description="flag when risk >= threshold")
    label: str = Field(..., description="the outcome the decision stands for (the positive label when flagged)")
    threshold: float = Field(..., description="the model's decision threshold")
    reasons: list[Reason] = Field(default_factory=list, description="largest contributions first")
    explanation: str = Field("", description="the reasons as one sentence")

    def summary(self) -> str:
        head = f"risk {self.risk:.3f} → {self.decision} ({self.label}; threshold {self.threshold:.3g})"
        return f"{head}: {self.explanation}" if self.explanation else head


_OUTPUTS = TypeAdapter(list[RiskOutput])


@register
class RiskScoring(Task[RiskInput, RiskOutput], Trainable, Evaluable, DriftReporting):
    """Calibrated LightGBM risk with a decision threshold, per-decision reasons and drift reports."""

    name = "risk-scoring"
    aliases = ("risk-score",)  # not "risk": users name trained models that (test_tabular.py does)
    description = "Risk of a bad outcome (credit default, fraud, churn) for a row: calibrated, with a decision and reasons"
    Input = RiskInput
    Output = RiskOutput
    default_model = "risk-credit-lgbm"
    primary_field = "features"
    metric_family = "risk"
    target_field = "label"
    example_inputs = (
        {"features": {"Seniority": 1, "Home": "rent", "Time": 60, "Age": 25, "Marital": "single", "Records": "yes",
                      "Job": "partime", "Expenses": 60, "Income": 60.0, "Assets": 0.0, "Debt": 0.0, "Amount": 1200,
                      "Price": 1300}},
        {"features": {"Seniority": 15, "Home": "owner", "Time": 36, "Age": 45, "Marital": "married", "Records": "no",
                      "Job": "fixed", "Expenses": 60, "Income": 200.0, "Assets": 5000.0, "Debt": 0.0, "Amount": 800,
                      "Price": 1500}, "max_reasons": 2},
        {"Income": 90.0, "Records": "no", "Amount": 1000},
    )

    @classmethod
    def load_data(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Labelled rows: ``label_col`` (default ``label``/``target``), ``feature_cols``, ``drop_cols``, ``format``."""
        from ...data.columns import load_records
        from ...data.databases import data_source

        return load_records(data_source(path), options, "classification", cls.target_field)

    @classmethod
    def load_unlabelled(cls, path: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows of a live table, with their label where the table has the label column (``--drift``)."""
        from ...data.databases import data_source
        from .data import live_records

        return live_records(data_source(path), options, cls.target_field)

    @classmethod
    def fit(cls, data, out_dir, options, progress=False, *, name="model"):
        """LightGBM, calibration and a threshold on held-out rows (``modelbay.tasks.risk_scoring.train``)."""
        from ...data.databases import data_source
        from .train import train_risk

        return train_risk(data_source(data), Path(out_dir), options, progress=progress, name=name, task=cls.name)

    def setup(self, model, device="cpu") -> None:
        super().setup(model, device)
        if model.path is None or not (Path(model.path) / "risk.json").is_file():
            raise ModelUnavailable(f"model {model.spec.name!r} is not a risk model (no risk.json)",
                                   hint="train one with `modelbay train risk-scoring --data table.csv --label-col …`")
        self.backend = RiskModel(model.path)

    def _forward(self, batch: list[RiskInput]):
        rows = [item.features for item in batch]
        risk, contributions, log_odds = self.backend.score(rows, max(item.max_reasons for item in batch))
        return risk, top_reasons(self.backend.names, rows, contributions, log_odds, [i.max_reasons for i in batch])

    def postprocess(self, raw, items: list[RiskInput]) -> list[RiskOutput]:
        risks, reasons = raw
        b = self.backend
        out = []
        for r, why in zip(risks.tolist(), reasons):
            flag = r >= b.threshold
            out.append({"risk": round(r, 6), "decision": "flag" if flag else "pass",
                        "label": b.positive if flag else b.negative, "threshold": b.threshold, "reasons": why,
                        "explanation": "; ".join(w["text"] for w in why)})
        return _OUTPUTS.validate_python(out)  # one pass in pydantic-core: faster than building models one by one

    def prediction(self, output: RiskOutput) -> dict[str, Any]:
        """What the "risk" metric family scores: the risk, which label is positive, and the threshold."""
        return {"risk": output.risk, "positive": self.backend.positive, "threshold": self.backend.threshold}

    def drift_report(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """PSI of every feature of ``records`` against the training table (bands 0.1 / 0.25)."""
        from ...core.errors import BadInput
        from ...ml.drift import drift_report

        reference = self.backend.reference
        if reference is None:
            raise BadInput(f"model {self.model.spec.name!r} has no drift reference (drift.json)",
                           hint="retrain it with this version of modelbay")
        rows = [rec.get("features", rec) for rec in records]
        report = drift_report(reference["features"], self.backend.live_columns(rows))
        known = set(self.backend.names)
        report["reference"] = {"rows": reference["n_rows"], "data": reference.get("data")}
        report["unknown_columns"] = sorted({k for row in rows for k in row if k not in known})
        return report
