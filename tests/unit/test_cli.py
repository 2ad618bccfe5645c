import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from modelbay.cli import app

runner = CliRunner()


def test_tasks_json_lists_every_task():
    result = runner.invoke(app, ["tasks", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {"sentiment", "embeddings"} <= {r["name"] for r in rows}


def test_models_json_shows_installed_state():
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["all-minilm-l6-v2"]["installed"] is True


def test_run_with_an_explicit_model_and_json_output():
    result = runner.invoke(app, ["run", "sentiment", "--model", "sentiment-vader", "--json", "I love it", "I hate it"])
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in json.loads(result.output)] == ["positive", "negative"]


def test_run_reads_a_jsonl_file_and_names_a_bad_line(tmp_path):
    good = tmp_path / "inputs.jsonl"
    good.write_text('"I love it"\n{"text": "I hate it"}\n')
    result = runner.invoke(app, ["run", "sentiment", "-m", "sentiment-vader", "--json", "--file", str(good)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('"fine"\n{oops\n')
    result = runner.invoke(app, ["run", "sentiment", "-m", "sentiment-vader", "--file", str(bad)])
    assert result.exit_code != 0 and "bad.jsonl:2" in result.output


def test_unknown_task_exits_2_listing_tasks():
    result = runner.invoke(app, ["run", "sentimnt", "x"])
    assert result.exit_code == 2
    assert "sentiment" in result.output


def test_embeddings_similarity_matrix():
    result = runner.invoke(app, ["run", "embeddings", "--similarity", "--json", "refund policy", "refund policy", "the cat sat"])
    assert result.exit_code == 0, result.output
    matrix = json.loads(result.output)["similarity"]
    assert matrix[0][1] > 0.99 and matrix[0][2] < matrix[0][1]


def test_help_does_not_import_torch():
    exe = Path(sys.executable).with_name("modelbay")
    code = ("import sys, runpy; sys.argv=['modelbay','--help']\n"
            f"try:\n    runpy.run_path({str(exe)!r}, run_name='__main__')\nexcept SystemExit: pass\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage" in out and out.strip().endswith("NO-TORCH")


def test_error_messages_are_printed_whole_and_literally(tmp_path):
    """A long path with brackets in an error: no line break inserted at 80 columns, no [...] read as markup."""
    missing = tmp_path / ("[bold]reports" + "-very-long-folder-name" * 6) / "holdout.csv"
    result = runner.invoke(app, ["eval", "sentiment", "--data", str(missing)])
    assert result.exit_code == 2
    assert str(missing) in result.output, result.output
