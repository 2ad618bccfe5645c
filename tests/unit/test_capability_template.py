"""The capability template (src/modelbay/tasks/_template) is a real capability.

A copy of its folder under a new name is what docs/adding-a-capability.md tells a developer to
make. Here the copy goes into a temporary folder that the ``modelbay.tasks`` package also searches
(what a new folder beside the others is), and its model spec into a user catalog folder; then,
with no edit anywhere else, the registry finds the task, it passes the conformance checks every
task passes, the CLI runs it, the server has its route and ``modelbay eval`` scores it. The real
registry, modules and settings are restored afterwards.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import conformance_checks as checks
import pytest

import modelbay

TEMPLATE = Path(modelbay.__file__).resolve().parent / "tasks" / "_template"
FOLDER = "keyword_tagging"  # the new capability's folder (a copy of the template)


@pytest.fixture
def new_capability(tmp_path, monkeypatch, fresh_settings):
    """The template copied to ``modelbay/tasks/keyword_tagging`` (a temporary extra search path); yields the registry."""
    import modelbay.tasks as tasks_package
    from modelbay.core import registry

    shutil.copytree(TEMPLATE, tmp_path / "tasks" / FOLDER, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "catalog").mkdir()
    shutil.copy(TEMPLATE / "catalog.yaml", tmp_path / "catalog" / "keywords-support.yaml")
    monkeypatch.setenv("MODELBAY_CATALOG_PATH", json.dumps([str(tmp_path / "catalog")]))
    fresh_settings.cache_clear()

    registry.all_tasks()  # the real registry, complete, is what the isolated one starts from
    monkeypatch.setattr(tasks_package, "__path__", [*tasks_package.__path__, str(tmp_path / "tasks")])
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))
    monkeypatch.setattr(registry, "_loaded", False)  # discover again, as a fresh process would
    yield registry
    for module in [m for m in sys.modules if m == f"modelbay.tasks.{FOLDER}" or m.startswith(f"modelbay.tasks.{FOLDER}.")]:
        del sys.modules[module]
    if hasattr(tasks_package, FOLDER):
        delattr(tasks_package, FOLDER)


def test_the_template_itself_is_never_registered():
    from modelbay.core.registry import task_names

    assert (TEMPLATE / "task.py").is_file() and (TEMPLATE / "catalog.yaml").is_file()
    assert "keyword-tagging" not in task_names()  # the registry skips folders named "_…"
    assert not any(m.startswith("modelbay.tasks._template") for m in sys.modules)


def test_a_copy_is_discovered_with_no_edit_elsewhere(new_capability):
    cls = new_capability.get_task("keywords")  # by its alias
    assert cls.name == "keyword-tagging" and cls.__module__ == f"modelbay.tasks.{FOLDER}.task"
    assert cls.capabilities == {"run", "eval"}
    assert "keyword-tagging" in new_capability.task_names()


def test_a_copy_passes_the_conformance_checks(new_capability):
    from modelbay.core.loading import load_task

    cls = new_capability.get_task("keyword-tagging")
    task = load_task("keyword-tagging")
    checks.examples_round_trip_through_the_schema(cls)
    checks.batch_of_one_and_of_n_agree_and_lengths_match(cls, task)
    checks.wrong_type_gives_a_clear_error(cls)
    checks.outputs_serialise_to_json(cls, task)
    outputs = task([cls.coerce(e) for e in cls.examples()])
    assert [o.label for o in outputs] == ["billing", "delivery", "other"]


def test_a_copy_runs_from_the_cli_and_is_served(new_capability):
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from modelbay.cli import app
    from modelbay.serve.app import create_app

    result = CliRunner().invoke(app, ["run", "keyword-tagging", "--json", "I forgot my password"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["label"] == "login"

    client = TestClient(create_app())
    assert "keyword-tagging" in {t["name"] for t in client.get("/v1/tasks").json()["tasks"]}
    response = client.post("/v1/tasks/keyword-tagging", json={"inputs": ["the courier never came", "refund please"]})
    assert response.status_code == 200, response.text
    assert [o["label"] for o in response.json()["outputs"]] == ["delivery", "billing"]
    assert client.post("/v1/tasks/keywords", json={"inputs": [{"txt": "x"}]}).status_code == 422


def test_a_copy_is_evaluated(new_capability, tmp_path):
    from modelbay.evaluate.runner import evaluate

    data = tmp_path / "tickets.csv"
    data.write_text("message,topic\nmy card was charged twice,billing\nwhere is my package,delivery\n"
                    "my account is locked,login\nthanks a lot,other\nthe parcel was refunded,delivery\n")
    result = evaluate("keyword-tagging", data, options={"text_col": "message", "label_col": "topic"}, n_bootstrap=0)
    assert result["headline"] in result["metrics"] and result["value"] == pytest.approx(0.8)  # the refund misleads it
