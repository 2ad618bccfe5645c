"""What a task supports is declared once (``modelbay.core.protocols``) and every consumer agrees with it.

For every registered task, the capabilities ``modelbay tasks`` and ``GET /v1/tasks`` show are exactly
what the evaluator, the trainer (CLI and job manager), the server's ``"stream": true``, the Python
API's ``stream`` and the CLI's ``--similarity`` accept. None of these checks loads a model: each
consumer refuses (or gets past its capability check to the next error) before it would.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput
from modelbay.core.inventory import tasks_table
from modelbay.core.protocols import (
    Evaluable,
    Labelled,
    Streaming,
    TaskContractError,
    TokenCounting,
    Trainable,
    capabilities_of,
    token_count,
)
from modelbay.core.registry import all_tasks
from modelbay.core.task import Task, TaskInput, TaskOutput

TASKS = all_tasks()
runner = CliRunner()

#: what the built-in tasks support; ner and image-classification are evaluable (`modelbay eval ner` runs)
EXPECTED = {
    "chat": {"run", "stream", "eval"},
    "embeddings": {"run", "similarity"},
    "image-classification": {"run", "train", "eval"},
    "ner": {"run", "train", "eval"},
    "sentiment": {"run", "train", "eval"},
    "speech-recognition": {"run", "stream", "eval"},
    "tabular-classification": {"run", "train", "eval"},
    "tabular-regression": {"run", "train", "eval"},
    "text-classification": {"run", "train", "eval"},
}


def _listed() -> dict[str, set[str]]:
    result = runner.invoke(app, ["tasks", "--json"])
    assert result.exit_code == 0, result.output
    return {row["name"]: set(row["capabilities"]) for row in json.loads(result.output)}


def test_the_listing_shows_the_declared_protocols():
    listed = _listed()
    for name, expected in EXPECTED.items():
        assert listed[name] == expected, name
    for cls in TASKS:
        assert listed[cls.name] == set(capabilities_of(cls)) == set(cls.capabilities)
        assert cls.info()["capabilities"] == sorted(cls.capabilities)  # GET /v1/tasks/… shape: a sorted list
    assert {r["name"]: r["capabilities"] for r in tasks_table()} == {n: sorted(c) for n, c in listed.items()}


@pytest.mark.parametrize("cls", TASKS, ids=lambda c: c.name)
def test_eval_is_listed_iff_the_evaluator_accepts_the_task(cls, tmp_path):
    from modelbay.evaluate.runner import evaluate

    with pytest.raises(BadInput) as info:
        evaluate(cls.name, tmp_path / "missing.jsonl")  # past the capability check: the data is missing
    accepted = "no such data file" in str(info.value)
    assert accepted or "cannot be evaluated" in str(info.value), info.value
    assert accepted == ("eval" in cls.capabilities)
    if accepted:
        from modelbay.ml.metrics import get_family

        get_family(cls.metric_family)  # a family the evaluator knows


@pytest.mark.parametrize("cls", TASKS, ids=lambda c: c.name)
def test_train_is_listed_iff_the_cli_and_the_job_manager_accept_the_task(cls, tmp_path):
    from modelbay.serve.config import JobsConfig
    from modelbay.serve.job_manager import JobManager
    from modelbay.serve.job_models import TrainJobRequest

    result = runner.invoke(app, ["train", cls.name, "--data", str(tmp_path / "missing.csv"), "--name", "x"])
    assert result.exit_code == 2
    cli_accepts = "no such file or folder" in result.output
    assert cli_accepts or "cannot be trained" in result.output, result.output

    jobs = JobManager(JobsConfig(data_dirs=[tmp_path], uploads_dir=tmp_path / "uploads"))
    with pytest.raises(BadInput) as info:
        jobs.submit(TrainJobRequest(task=cls.name, name="x", data="missing.csv"))
    jobs_accept = "does not exist on the server" in str(info.value)
    assert jobs_accept or "cannot be trained" in str(info.value), info.value
    assert cli_accepts == jobs_accept == ("train" in cls.capabilities)


@pytest.mark.parametrize("cls", TASKS, ids=lambda c: c.name)
def test_stream_is_listed_iff_the_server_and_the_pipeline_accept_it(cls, sentiment_app):
    """``"stream": true`` streams output pieces ("stream") or progress events then the output ("progress": a video)."""
    inputs = [cls.coerce(e).model_dump(mode="json") for e in cls.examples()[:2]]
    response = sentiment_app.post(f"/v1/tasks/{cls.name}", json={"inputs": inputs, "stream": True})
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    server_accepts = message == "streaming takes exactly one input"  # past the capability check
    assert server_accepts or "does not stream" in message, message
    assert server_accepts == bool({"stream", "progress"} & cls.capabilities)
    if "stream" not in cls.capabilities:
        import modelbay

        with pytest.raises(BadInput, match="does not stream"):
            modelbay.pipeline(cls.name).stream(cls.examples()[0])  # refused before any model loads


@pytest.mark.parametrize("cls", [c for c in TASKS if "similarity" not in c.capabilities], ids=lambda c: c.name)
def test_similarity_is_refused_before_loading_where_not_listed(cls):
    result = runner.invoke(app, ["run", cls.name, "--similarity", "--model", "no-such-model", "x", "y"])
    assert result.exit_code == 2 and f"task {cls.name!r} has no similarity" in result.output, result.output
    assert "embeddings" in result.output  # the hint names the tasks that have it


# -- the declarations are checked when a task class is made ----------------------------------------

class In(TaskInput):
    text: str


class Out(TaskOutput):
    label: str


def test_a_declared_protocol_must_be_implemented():
    with pytest.raises(TaskContractError, match=r"task 'half' declares Trainable but does not implement fit, load_data"):
        class Half(Task[In, Out], Trainable):
            name = "half"

    with pytest.raises(TaskContractError, match="task 'nofamily' is Evaluable but has no metric_family"):
        class NoFamily(Task[In, Out], Evaluable):
            name = "nofamily"

            @classmethod
            def load_data(cls, path, options):
                return []


def test_an_implemented_member_must_be_declared():
    with pytest.raises(TaskContractError, match="task 'quiet' has stream but does not declare Streaming"):
        class Quiet(Task[In, Out]):
            name = "quiet"

            def stream(self, item):
                yield item.text

    with pytest.raises(TaskContractError, match="task 'scored' has metric_family but does not declare Evaluable"):
        class Scored(Task[In, Out]):
            name = "scored"
            metric_family = "classification"


def test_capabilities_cannot_be_set_by_hand():
    with pytest.raises(TaskContractError, match="sets capabilities; they are derived"):
        class Claims(Task[In, Out]):
            name = "claims"
            capabilities = frozenset({"run", "train"})


def test_a_nameless_base_is_checked_in_its_named_subclasses():
    class Base(Task[In, Out], Streaming):  # no name: a shared base, like the tabular tasks'
        pass

    with pytest.raises(TaskContractError, match="declares Streaming but does not implement stream"):
        class Concrete(Base):
            name = "concrete"

    class Done(Base):
        name = "done"

        def stream(self, item):
            yield item.text

    assert Done.capabilities == frozenset({"run", "stream"}) and isinstance(Done(), Streaming)


# -- hooks the evaluator and the routes call -------------------------------------------------------

class Tagger(Task[In, Out], Evaluable, Labelled):
    """Outputs carry no probabilities; the loaded model's labels come from ``Labelled``."""

    name = "tagger"
    Input = In
    Output = Out
    default_model = "none"
    metric_family = "classification"

    @classmethod
    def load_data(cls, path, options):
        return []

    @property
    def labels(self):
        return ["ham", "spam"]

    def _forward(self, batch):
        return [Out(label="spam" if "win" in i.text else "ham") for i in batch]


def test_the_evaluator_checks_data_labels_against_the_declared_labels():
    from modelbay.evaluate.runner import evaluate_records

    records = [{"text": "win money", "label": "spam"}, {"text": "lunch?", "label": "ham"}]
    result = evaluate_records(Tagger(), records, n_bootstrap=0)
    assert result["metrics"]["labels"] == ["ham", "spam"] and result["value"] == 1.0
    with pytest.raises(BadInput, match=r"labels \['eggs'\] in the data are not labels of the model"):
        evaluate_records(Tagger(), [*records, {"text": "hi", "label": "eggs"}], n_bootstrap=0)


class Counter(Tagger, TokenCounting):
    name = "counter"

    def count_tokens(self, texts):
        return None if texts == ["unknown"] else 7 * len(texts)


def test_token_count_uses_the_declared_hook_and_falls_back_to_words():
    assert token_count(Counter(), ["a b", "c"]) == 14
    assert token_count(Counter(), ["unknown"]) == 1  # the model cannot tell: words
    assert token_count(Tagger(), ["three words here", "two words"]) == 5  # no TokenCounting: words


def test_embeddings_count_the_tokens_their_model_reads():
    from modelbay.core.loading import load_task

    task = load_task("embeddings", "all-minilm-l6-v2")
    assert isinstance(task, TokenCounting)
    assert task.count_tokens(["hello world"]) == 4  # [CLS] hello world [SEP]
    assert task.count_tokens(["word " * 1000]) == 256  # cut at the model's max_seq_length, as it reads it


class Talker(Tagger, Streaming):
    name = "talker"

    def stream(self, item):
        yield item.text


@pytest.mark.parametrize("task, method, needle", [(Tagger(), "stream", "task 'tagger' does not stream"),
                                                  (Talker(), "generate", "task 'talker' does not generate")])
def test_the_server_streams_only_what_a_task_declares(task, method, needle):
    import asyncio

    from modelbay.serve.config import ServerConfig
    from modelbay.serve.context import ServerContext

    class LoadedPool:  # the task is already loaded: ctx.load returns it without a model
        def loaded(self, name, model):
            return task

    async def first_piece():
        return await anext(ServerContext(ServerConfig(), LoadedPool()).stream(task.name, None, In(text="hi"),
                                                                               method=method))

    with pytest.raises(BadInput, match=needle):
        asyncio.run(first_piece())
