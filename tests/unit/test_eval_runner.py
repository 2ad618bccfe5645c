"""The evaluator and the report on small in-code tasks (no model files): batching, progress, errors, files."""

from __future__ import annotations

import base64
import json

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.protocols import Evaluable
from modelbay.core.task import Task, TaskInput, TaskOutput
from modelbay.evaluate.report import write_report
from modelbay.evaluate.runner import evaluate, evaluate_records
from modelbay.ml import metrics as M
from modelbay.tasks.text_classification.task import ClassificationOutput, TextInput


class NumberIn(TaskInput):
    x: float


class NumberOut(TaskOutput):
    value: float


def _jsonl(cls, path, options):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class Doubler(Task[NumberIn, NumberOut], Evaluable):
    """A "model" that doubles its input, scored as regression against ``value``."""

    name = "doubler"
    Input = NumberIn
    Output = NumberOut
    default_model = "none"
    primary_field = "x"
    metric_family = "regression"
    target_field = "value"
    load_data = classmethod(_jsonl)

    def _forward(self, batch):
        return [NumberOut(value=2 * item.x) for item in batch]


class Keywords(Task[TextInput, ClassificationOutput], Evaluable):
    """Positive when the text says "good"; its probabilities make ROC, PR and calibration possible."""

    name = "keywords"
    Input = TextInput
    Output = ClassificationOutput
    default_model = "none"
    metric_family = "classification"
    load_data = classmethod(_jsonl)

    def _forward(self, batch):
        out = []
        for item in batch:
            p = 0.9 if "good" in item.text else 0.3 if "ok" in item.text else 0.05
            best = "positive" if p >= 0.5 else "negative"
            out.append(ClassificationOutput(label=best, score=max(p, 1 - p), scores={"negative": 1 - p, "positive": p}))
        return out


TEXTS = [("good food", "positive"), ("good", "positive"), ("ok I guess", "positive"), ("bad", "negative"),
         ("awful", "negative"), ("not good at all", "negative"), ("meh ok", "negative"), ("good value", "positive")]


def test_regression_records_batches_progress_and_worst_errors():
    seen = []
    records = [{"x": 1, "value": 2}, {"x": 2, "value": 5}, {"x": 3, "value": 6, "note": "not an input field"}]
    result = evaluate_records(Doubler(), records, progress=lambda *a: seen.append(a), batch_size=2, n_bootstrap=50)
    assert seen == [("eval doubler", 0, 3), ("eval doubler", 2, 3), ("eval doubler", 3, 3)]
    assert result["headline"] == "mae" and result["value"] == pytest.approx(1 / 3)
    assert result["metrics"]["rmse"] == pytest.approx((1 / 3) ** 0.5)
    assert [e["index"] for e in result["worst_errors"]] == [1]
    assert result["worst_errors"][0] == {"index": 1, "input": 2, "truth": 5, "prediction": 4.0, "severity": 1.0}
    assert result["ci"]["low"] <= result["value"] <= result["ci"]["high"]
    assert result["n"] == 3 and len(result["fingerprint"]) == 64
    json.dumps(result, allow_nan=False)  # plain JSON all the way down


def test_classification_uses_the_model_probabilities():
    records = [{"text": t, "label": y} for t, y in TEXTS]
    result = evaluate_records(Keywords(), records, n_bootstrap=100)
    m = result["metrics"]
    assert result["value"] == pytest.approx(6 / 8)  # "ok I guess" and "not good at all" are wrong
    assert m["labels"] == ["negative", "positive"] and "roc_auc" in m and "ece" in m
    worst = result["worst_errors"]
    assert [e["input"] for e in worst] == ["not good at all", "ok I guess"]  # most confident mistake first
    assert worst[0]["severity"] == pytest.approx(0.9)


def test_labels_the_model_does_not_know_are_an_error():
    with pytest.raises(BadInput, match=r"labels \['neutral'\] in the data are not labels of the model"):
        evaluate_records(Keywords(), [{"text": "fine", "label": "neutral"}], n_bootstrap=0)


def test_records_without_the_truth_or_with_bad_inputs_fail_before_running():
    with pytest.raises(BadInput, match="record 2 has no 'value'"):
        evaluate_records(Doubler(), [{"x": 1, "value": 2}, {"x": 2}])
    with pytest.raises(BadInput, match="record 1"):
        evaluate_records(Doubler(), [{"x": "seven", "value": 2}])


def test_tasks_without_a_metric_family_and_missing_data(tmp_path):
    with pytest.raises(BadInput, match="task 'embeddings' cannot be evaluated yet"):
        evaluate("embeddings", tmp_path)
    with pytest.raises(BadInput, match="no such data file or folder"):
        evaluate("sentiment", tmp_path / "missing.jsonl")


def _images(html: str) -> list[bytes]:
    import re

    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_classification_report_is_self_contained(tmp_path):
    result = evaluate_records(Keywords(), [{"text": t, "label": y} for t, y in TEXTS], n_bootstrap=100, data="toy.jsonl")
    paths = write_report(result, tmp_path / "rep")
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    images = _images(html)
    assert len(images) == 5  # confusion matrix, metrics, ROC, PR, calibration
    assert all(img.startswith(b"\x89PNG") for img in images)
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "not good at all" in html and "95% CI" in html and "Per class" in html
    assert (tmp_path / "rep" / "headline.png").read_bytes() == images[0]
    saved = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert saved["metrics"]["accuracy"] == result["value"] and saved["report"] == paths


def test_reports_for_other_families(tmp_path):
    result = evaluate_records(Doubler(), [{"x": 1, "value": 2}, {"x": 2, "value": 5}], n_bootstrap=20)
    write_report(result, tmp_path / "reg")
    assert len(_images((tmp_path / "reg" / "report.html").read_text())) == 1
    truth = [[{"start": 0, "end": 3, "label": "PER"}], [{"start": 4, "end": 9, "label": "<LOC>"}]]
    pred = [[{"start": 0, "end": 3, "label": "PER"}], []]
    ner = {"task": "ner", "model": "m", "family": "ner", "n": 2, "metrics": M.ner(truth, pred), "headline": "f1",
           "value": 0.6667, "ci": M.bootstrap_ci("ner", truth, pred, n=20),
           "worst_errors": [{"index": 1, "input": "Bob <b>in</b> Paris", "truth": truth[1], "prediction": [], "severity": 1}]}
    write_report(ner, tmp_path / "ner")
    html = (tmp_path / "ner" / "report.html").read_text()
    assert "Per entity type" in html and "&lt;LOC&gt;" in html and "<b>in</b>" not in html  # escaped
    assert (tmp_path / "ner" / "headline.png").read_bytes().startswith(b"\x89PNG")
