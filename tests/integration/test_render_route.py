"""``"render": true`` and ``--render``: pictures of results from the server, the CLI and the Python API."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from modelbay.cli import app

pytestmark = pytest.mark.models("sentiment")


def test_render_on_a_task_with_nothing_to_draw_is_a_4xx_naming_the_tasks_that_draw(sentiment_app):
    r = sentiment_app.post("/v1/tasks/sentiment", json={"inputs": "great service", "render": True})
    assert r.status_code == 422 and "has nothing to draw" in r.json()["error"]["message"]
    ok = sentiment_app.post("/v1/tasks/sentiment", json={"inputs": "great service"})
    assert ok.status_code == 200 and "renders" not in ok.json()  # the server keeps serving, without renders


def test_cli_render_on_a_task_with_nothing_to_draw_says_so_before_loading(tmp_path):
    result = CliRunner().invoke(app, ["run", "sentiment", "great", "--render", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "has nothing to draw" in result.output and "--render works with" in result.output
    assert not (tmp_path / "x.png").exists()
