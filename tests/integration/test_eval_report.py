"""`modelbay eval` end to end with the real default sentiment model: metrics, CI, report files, errors."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from modelbay.cli import app

DATA = Path(__file__).resolve().parents[2] / "data" / "eval" / "sentiment_en_customer.jsonl"


def test_eval_writes_a_self_contained_report(fresh_settings, tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["eval", "sentiment", "--data", str(DATA), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    res = json.loads(result.output)
    assert (res["task"], res["model"], res["family"], res["n"]) == ("sentiment", "sentiment-e5-mlp", "classification", 175)
    assert res["headline"] == "accuracy" and res["metrics"]["accuracy"] > 0.9
    assert res["ci"]["low"] <= res["value"] <= res["ci"]["high"] and res["ci"]["resamples"] == 1000
    assert res["metrics"]["roc_auc"] > 0.9 and 0 <= res["metrics"]["ece"] < 0.2
    assert len(res["worst_errors"]) == 10  # 175 items at 94.3% accuracy
    assert res["report"] == {"html": str(out / "report.html"), "headline_png": str(out / "headline.png"),
                             "metrics_json": str(out / "metrics.json")}

    html = (out / "report.html").read_text(encoding="utf-8")
    images = [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
    assert len(images) == 5 and all(img.startswith(b"\x89PNG") for img in images)
    for title in ("Confusion matrix", "ROC curves", "Precision-recall curves", "Calibration (reliability)"):
        assert f'alt="{title}"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from the network
    assert (out / "headline.png").read_bytes() == images[0]
    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert saved["metrics"]["confusion_matrix"] == res["metrics"]["confusion_matrix"]
    assert saved["fingerprint"] == res["fingerprint"]


def test_a_model_name_stands_for_its_task_and_old_flags_still_work(fresh_settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "reviews.csv"
    data.write_text('review,verdict\n"I love it, works great!",positive\nTerrible. It broke on day one.,negative\n')
    result = CliRunner().invoke(app, ["eval", "sentiment-vader", "--data", str(data), "--text-field", "review",
                                      "--label-field", "verdict", "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "1.0000" in result.output
    reports = list((tmp_path / "eval-reports").glob("sentiment-vader-*/report.html"))
    assert len(reports) == 1 and str(reports[0].relative_to(tmp_path)) in result.output

    result = CliRunner().invoke(app, ["eval", "sentiment", "-m", "sentiment-vader", "--data", str(data),
                                      "--text-col", "review", "--label-col", "verdict", "--no-report", "--json"])
    assert result.exit_code == 0, result.output
    res = json.loads(result.output)
    assert res["model"] == "sentiment-vader" and "report" not in res
    assert len(list((tmp_path / "eval-reports").iterdir())) == 1  # --no-report wrote nothing


def test_bad_data_exits_2_naming_the_line(fresh_settings, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "label": "positive"}\n{"text": "awful", "label": "negative"}\n{"text": "oops",\n')
    result = CliRunner().invoke(app, ["eval", "sentiment", "--data", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "bad.jsonl:3: not valid JSON" in _unwrapped(result.output)
    assert not (tmp_path / "r").exists()

    missing = tmp_path / "cols.csv"
    missing.write_text("message,intent\nhello,greet\n")
    result = CliRunner().invoke(app, ["eval", "sentiment", "--data", str(missing)])
    assert result.exit_code == 2 and "cols.csv:1: no column 'text'" in _unwrapped(result.output)
    assert "columns present: ['message', 'intent']" in _unwrapped(result.output)

    result = CliRunner().invoke(app, ["eval", "embeddings", "--data", str(missing)])
    assert result.exit_code == 2 and "cannot be evaluated yet" in _unwrapped(result.output)
    assert "sentiment" in result.output


def _unwrapped(output: str) -> str:
    """The error console wraps long messages at spaces; join the lines back."""
    return " ".join(output.split())
