"""Work nobody waits for stops: queued requests that time out never run, running rows see a cancel flag,
and the queue takes clients in turn. Fake tasks gated by events decide what runs when (no sleeps)."""

import asyncio
import threading

import pytest

from modelbay.core.cancel import CancelFlag, all_cancelled, cancel_scope, row_cancelled
from modelbay.core.task import Task, TaskInput, TaskOutput
from modelbay.serve.batching import Batcher, ClientGone
from modelbay.serve.config import BatchingConfig

SAFETY_S = 60  # only a guard against a hung test; no outcome depends on it


class NumIn(TaskInput):
    value: int


class NumOut(TaskOutput):
    doubled: int


class _Spec:
    name = "gate"


class _Model:
    spec = _Spec()


class Gate(Task[NumIn, NumOut]):
    """Its first pass waits until the test opens the gate, so requests can queue behind it."""

    name = "gate"
    Input = NumIn
    Output = NumOut
    default_model = "gate"

    def __init__(self) -> None:
        super().__init__()
        self.model = _Model()
        self.started = threading.Event()
        self.gate = threading.Event()
        self.batches: list[list[int]] = []

    def _forward(self, batch):
        self.batches.append([item.value for item in batch])
        self.started.set()
        assert self.gate.wait(SAFETY_S)
        return [NumOut(doubled=2 * item.value) for item in batch]


class Steps(Task[NumIn, NumOut]):
    """A loop like generation: one step per round for every row still wanted; the test drives the rounds."""

    name = "steps"
    Input = NumIn
    Output = NumOut
    default_model = "steps"

    def __init__(self) -> None:
        super().__init__()
        self.model = _Model()
        self.step_done = threading.Semaphore(0)
        self.next_step = threading.Semaphore(0)
        self.steps: list[list[int]] = []  # rows worked on at each step

    def _forward(self, batch):  # row i takes batch[i].value steps
        for step in range(max(item.value for item in batch)):
            alive = [row for row, item in enumerate(batch) if step < item.value and not row_cancelled(row)]
            if not alive:
                break
            self.steps.append(alive)
            self.step_done.release()
            assert self.next_step.acquire(timeout=SAFETY_S)
        return [NumOut(doubled=2 * item.value) for item in batch]


def _items(*values):
    return [NumIn(value=v) for v in values]


def test_a_request_that_times_out_while_queued_never_runs_and_frees_its_place():
    task = Gate()
    batcher = Batcher(task, BatchingConfig(max_batch_size=4, max_wait_ms=0, max_queue=1), threading.Lock())

    async def main():
        first = asyncio.ensure_future(batcher.submit(_items(1)))
        assert await asyncio.to_thread(task.started.wait, SAFETY_S)  # the model is busy with the first request
        with pytest.raises(TimeoutError):
            await batcher.submit(_items(2), timeout_s=0.01)  # queued behind it until its timer fires
        assert batcher.queued_items == 0  # gone from the queue at once, not when a batch would reach it
        third = asyncio.ensure_future(batcher.submit(_items(3)))  # the queue's one place is free again
        await asyncio.sleep(0)
        task.gate.set()
        return await first, await third

    first, third = asyncio.run(main())
    assert first[0].doubled == 2 and third[0].doubled == 6
    assert task.batches == [[1], [3]]  # the timed-out request never reached the model


def test_the_queue_takes_clients_in_turn():
    """A client with a backlog of three requests does not push another client's request behind all of them."""
    task = Gate()
    config = BatchingConfig(max_batch_size=3, max_wait_ms=0, regroup_wait_ms=0)
    batcher = Batcher(task, config, threading.Lock())

    async def main():
        running = asyncio.ensure_future(batcher.submit(_items(0), client="big"))
        assert await asyncio.to_thread(task.started.wait, SAFETY_S)
        backlog = [asyncio.ensure_future(batcher.submit(_items(10 * k, 10 * k + 1), client="big")) for k in (1, 2, 3)]
        small = asyncio.ensure_future(batcher.submit(_items(99), client="small"))
        while batcher.queued_items < 7:
            await asyncio.sleep(0)
        task.gate.set()
        return await asyncio.gather(running, *backlog, small)

    *_, small = asyncio.run(main())
    assert small[0].doubled == 198
    # first come first served would run the small request last, with [30, 31]
    assert task.batches == [[0], [10, 11, 99], [20, 21], [30, 31]]


def test_a_client_that_goes_away_mid_pass_has_its_row_dropped_and_the_others_finish():
    task = Steps()
    batcher = Batcher(task, BatchingConfig(max_batch_size=8, max_wait_ms=0, regroup_wait_ms=0), threading.Lock())

    async def main():
        loop = asyncio.get_running_loop()
        gone = loop.create_future()
        leaving = asyncio.ensure_future(batcher.submit(_items(1000), gone=gone))
        staying = asyncio.ensure_future(batcher.submit(_items(5)))
        for step in range(5):
            assert await asyncio.to_thread(task.step_done.acquire, timeout=SAFETY_S)
            if step == 1:
                gone.set_result(None)  # the first client hangs up after two steps
                with pytest.raises(ClientGone) as info:
                    await leaving
                assert info.value.status_code == 499
            task.next_step.release()
        return await staying

    [out] = asyncio.run(main())
    assert out.doubled == 10
    assert task.steps == [[0, 1], [0, 1], [1], [1], [1]]  # row 0 stopped at the step after the hang-up


def test_a_batch_whose_requests_all_left_before_it_started_is_skipped():
    task = Gate()
    lock = threading.Lock()
    batcher = Batcher(task, BatchingConfig(max_batch_size=4, max_wait_ms=0), lock)

    async def main():
        lock.acquire()  # the model is busy elsewhere (a stream, say)
        request = asyncio.ensure_future(batcher.submit(_items(7), timeout_s=0.01))
        with pytest.raises(TimeoutError):
            await request
        assert batcher.busy  # its batch was already waiting for the model
        lock.release()
        task.gate.set()
        while batcher.busy:
            await asyncio.sleep(0.001)

    asyncio.run(main())
    assert task.batches == []


def test_cancel_flags_are_per_row_and_only_inside_a_scope():
    flags = [CancelFlag(), threading.Event()]
    assert not row_cancelled(0) and not all_cancelled()
    with cancel_scope(flags) as scope:
        flags[0].set()
        assert row_cancelled(0) and not row_cancelled(1) and not all_cancelled()
        flags[1].set()
        assert all_cancelled() and scope.all_cancelled()
        assert not row_cancelled(5)  # a row the scope does not know is not cancelled
    assert not row_cancelled(0) and not all_cancelled()


def test_transcription_stops_between_windows_once_its_request_is_gone():
    """Whisper decodes one 30 s window per segment it yields; a gone request stops after the current one."""
    from types import SimpleNamespace

    from modelbay.tasks.speech_recognition.task import SpeechRecognition, SpeechRecognitionInput

    flag = CancelFlag()
    decoded = []

    def windows():
        for k in range(10):
            decoded.append(k)
            if k == 1:
                flag.set()  # the client hangs up while the second window is decoded
            yield SimpleNamespace(start=30.0 * k, end=30.0 * (k + 1), text=f" window {k}", avg_logprob=-0.1,
                                  no_speech_prob=0.0, words=None)

    task = SpeechRecognition()
    task.whisper = SimpleNamespace(transcribe=lambda samples, **kw: (
        windows(), SimpleNamespace(language="en", language_probability=1.0, duration=300.0)))
    item = SpeechRecognitionInput.model_construct(audio=b"", language="en", task="transcribe", beam_size=1,
                                                  word_timestamps=False, vad_filter=False, initial_prompt=None)
    samples = [0.0] * 16
    with cancel_scope([flag]):
        [out] = task._forward([(samples, item)])
    assert decoded == [0, 1] and out.text == "window 0 window 1"
    with cancel_scope([flag]):
        [skipped] = task._forward([(samples, item)])  # already gone when its turn comes: not decoded at all
    assert decoded == [0, 1] and skipped.text == ""


def test_the_client_key_is_the_api_key_else_the_address():
    from starlette.requests import Request

    from modelbay.serve.context import client_key

    def request(**scope):
        return Request({"type": "http", "method": "POST", "path": "/", "headers": [], **scope})

    assert client_key(request(client=("10.0.0.7", 5123), state={"api_key_id": "4c39"})) == "key:4c39"
    assert client_key(request(client=("10.0.0.7", 5123), state={"api_key_id": None})) == "addr:10.0.0.7"
    assert client_key(request()) == ""
