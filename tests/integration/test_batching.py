"""Dynamic batching: concurrent requests share forward passes; failures and limits stay per request."""

import asyncio
import threading
import time

import pytest

from modelbay.core.errors import BadInput
from modelbay.core.task import Task, TaskInput, TaskOutput
from modelbay.serve.batching import Batcher, ServerBusy
from modelbay.serve.config import BatchingConfig


class NumIn(TaskInput):
    value: int


class NumOut(TaskOutput):
    doubled: int


class _Spec:
    name = "doubler"


class _Model:
    spec = _Spec()


class Doubler(Task[NumIn, NumOut]):
    """A real task with a slow forward pass, so concurrent requests pile up behind it."""

    name = "doubler"
    Input = NumIn
    Output = NumOut
    default_model = "doubler"

    def __init__(self, delay_s=0.05):
        super().__init__()
        self.model = _Model()
        self.delay_s = delay_s
        self.calls: list[int] = []

    def _forward(self, batch):
        self.calls.append(len(batch))
        time.sleep(self.delay_s)
        if any(item.value < 0 for item in batch):
            raise BadInput("negative values are not allowed")
        return [NumOut(doubled=2 * item.value) for item in batch]


def _items(*values):
    return [NumIn(value=v) for v in values]


def run(coro):
    return asyncio.run(coro)


def test_concurrent_requests_form_batches_and_each_gets_its_own_answers():
    task = Doubler()
    batcher = Batcher(task, BatchingConfig(max_batch_size=32, max_wait_ms=0), threading.Lock())

    async def main():
        return await asyncio.gather(*(batcher.submit(_items(i, 100 + i)) for i in range(20)))

    results = run(main())
    assert [[o.doubled for o in r] for r in results] == [[2 * i, 2 * (100 + i)] for i in range(20)]
    assert sum(task.calls) == 40
    assert max(task.calls) > 2, task.calls  # requests that arrived during a pass were merged
    assert len(task.calls) < 20


def test_batch_size_is_capped_and_requests_are_never_split():
    task = Doubler(delay_s=0.01)
    batcher = Batcher(task, BatchingConfig(max_batch_size=5, max_wait_ms=0), threading.Lock())

    async def main():
        return await asyncio.gather(*(batcher.submit(_items(1, 2)) for _ in range(10)))

    run(main())
    assert max(task.calls) <= 5 and sum(task.calls) == 20
    assert all(n % 2 == 0 for n in task.calls)  # a request's two items always travel together


def test_a_lone_request_waits_at_most_max_wait_and_batching_off_means_one_request_per_pass():
    task = Doubler(delay_s=0)
    batcher = Batcher(task, BatchingConfig(enabled=False), threading.Lock())

    async def main():
        return await asyncio.gather(*(batcher.submit(_items(i)) for i in range(6)))

    run(main())
    assert task.calls == [1] * 6


def test_a_failing_item_fails_only_its_own_request():
    task = Doubler()
    batcher = Batcher(task, BatchingConfig(max_batch_size=32, max_wait_ms=20), threading.Lock())

    async def main():
        return await asyncio.gather(batcher.submit(_items(1)), batcher.submit(_items(-1)), batcher.submit(_items(3)),
                                    return_exceptions=True)

    good1, bad, good2 = run(main())
    assert good1[0].doubled == 2 and good2[0].doubled == 6
    assert isinstance(bad, BadInput) and "negative" in str(bad)


def test_a_full_queue_refuses_with_server_busy():
    task = Doubler(delay_s=0.2)
    batcher = Batcher(task, BatchingConfig(max_batch_size=1, max_wait_ms=0, max_queue=3), threading.Lock())

    async def main():
        return await asyncio.gather(*(batcher.submit(_items(i)) for i in range(8)), return_exceptions=True)

    results = run(main())
    refused = [r for r in results if isinstance(r, ServerBusy)]
    assert refused and refused[0].status_code == 503 and refused[0].retry_after_s >= 1
    assert [r[0].doubled for r in results if not isinstance(r, Exception)] == [0, 2, 4, 6][: 8 - len(refused)]


def test_server_batches_concurrent_http_requests_for_a_real_model():
    """Through the HTTP app: concurrent requests to the real sentiment model share passes."""
    import httpx

    from modelbay.serve.app import create_app
    from modelbay.serve.config import ServerConfig

    app = create_app(ServerConfig(batching={"max_batch_size": 64, "max_wait_ms": 20}))
    ctx = app.state.ctx

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            texts = [f"I love this shop {i}" for i in range(24)]
            responses = await asyncio.gather(*(client.post("/v1/tasks/sentiment", json={"inputs": [t]}) for t in texts))
        return responses

    responses = run(main())
    assert all(r.status_code == 200 for r in responses)
    assert all(r.json()["outputs"][0]["label"] == "positive" for r in responses)
    sizes = list(ctx.batchers[("sentiment", "sentiment-e5-mlp")].recent_batch_sizes)
    assert sum(sizes) == 24 and max(sizes) > 1, sizes


@pytest.mark.parametrize("timeout_s", [0.05])
def test_a_request_that_takes_too_long_gets_504(timeout_s):
    from modelbay.serve.config import ServerConfig
    from modelbay.serve.context import RequestTimeout, ServerContext

    ctx = ServerContext(ServerConfig(request_timeout_s=timeout_s))
    task = Doubler(delay_s=0.5)
    key = ("doubler", "doubler")
    slot = ctx.pool.slot(key)
    slot.task = task
    ctx.pool.key = lambda t, m: key  # the test task is not in the registry; the pool is otherwise real

    async def main():
        await ctx.run("doubler", None, _items(1))

    with pytest.raises(RequestTimeout) as info:
        run(main())
    assert info.value.status_code == 504


def _closed_loop(batcher, callers: int, rounds: int, gap_s: float = 0.001):
    """``callers`` clients, each sending its next request a little after its previous answer (like wrk),
    client k after k x ``gap_s``: the answers travel back at different speeds (or the event loop parses
    the returning requests one after another), so a round's requests arrive over ``callers x gap_s``."""
    async def client(k):
        for r in range(rounds):
            [out] = await batcher.submit(_items(k * 100 + r))
            assert out.doubled == 2 * (k * 100 + r)
            await asyncio.sleep(gap_s * k)

    async def main():
        await asyncio.gather(*(client(k) for k in range(callers)))

    run(main())


@pytest.mark.parametrize("regroup_ms", [0, 50])
def test_steady_callers_regroup_into_one_batch_instead_of_alternating_halves(regroup_ms):
    task = Doubler(delay_s=0.02)
    config = BatchingConfig(max_batch_size=32, max_wait_ms=0, regroup_wait_ms=regroup_ms)
    _closed_loop(Batcher(task, config, threading.Lock()), callers=8, rounds=6)
    later = task.calls[1:]
    assert sum(later) == 8 * 6 - task.calls[0]
    if regroup_ms:  # every round is one pass of all 8 callers
        assert later.count(8) >= len(later) - 1, task.calls
    else:  # without it the callers split up: a pass takes whoever was back in time
        assert len(task.calls) > 8 and later.count(8) < len(later) / 2, task.calls


def test_a_lone_caller_never_waits_to_regroup():
    task = Doubler(delay_s=0.0)
    batcher = Batcher(task, BatchingConfig(max_batch_size=32, max_wait_ms=0, regroup_wait_ms=100), threading.Lock())
    _closed_loop(batcher, callers=1, rounds=5)
    assert task.calls == [1] * 5
    assert batcher._peak == 1  # so a batch of one is already all the callers there are: no wait


def test_regrouping_waits_while_callers_keep_arriving():
    """Arrivals 3 ms apart over 21 ms, regroup_wait_ms 10: the wait runs from the latest arrival, not from
    the first one, so every round is still one pass of all 8 (a 10 ms wait from the first would cut it)."""
    task = Doubler(delay_s=0.02)
    config = BatchingConfig(max_batch_size=32, max_wait_ms=0, regroup_wait_ms=10)
    _closed_loop(Batcher(task, config, threading.Lock()), callers=8, rounds=6, gap_s=0.003)
    later = task.calls[1:]
    assert later.count(8) >= len(later) - 1, task.calls


def test_regrouping_wait_is_capped():
    """Requests that keep trickling in (one per ms, each gap under regroup_wait_ms) do not hold a pass
    forever: after 60 callers were in flight at once, a trickle of 60 starts its pass after at most
    4 x regroup_wait_ms (20 ms), with the ~20 that came by then, not with all 60."""
    from modelbay.serve.batching import REGROUP_CAP_FACTOR

    assert REGROUP_CAP_FACTOR * 5 == 20
    task = Doubler(delay_s=0.05)
    batcher = Batcher(task, BatchingConfig(max_batch_size=64, max_wait_ms=0, regroup_wait_ms=5), threading.Lock())

    async def main():
        await asyncio.gather(*(batcher.submit(_items(k)) for k in range(60)))  # 60 in flight: expected next
        pending = []
        for k in range(60):
            pending.append(asyncio.ensure_future(batcher.submit(_items(k))))
            await asyncio.sleep(0.001)
        outs = await asyncio.gather(*pending)
        assert [o.doubled for [o] in outs] == [2 * k for k in range(60)]

    run(main())
    assert task.calls[0] == 60 and 1 <= task.calls[1] <= 40, task.calls


def test_split_callers_merge_again_when_answering_takes_time():
    """Callers split into a group of 5 and a late group of 3. Answering takes the event loop 2 ms per
    request (5 answers: 10 ms, more than regroup_wait_ms) and each next request arrives 0.5 ms after its
    answer, as over a socket. The regroup wait must count from when the answers are out, not from the end
    of the pass, or the late group goes alone every time and the two groups keep taking turns."""
    task = Doubler(delay_s=0.03)
    batcher = Batcher(task, BatchingConfig(max_batch_size=32, max_wait_ms=0, regroup_wait_ms=3), threading.Lock())

    async def client(k):
        if k >= 5:
            await asyncio.sleep(0.01)  # arrives while the first group's pass runs
        for r in range(8):
            [out] = await batcher.submit(_items(k * 100 + r))
            assert out.doubled == 2 * (k * 100 + r)
            time.sleep(0.002)  # noqa: ASYNC251 - the event loop busy answering, as a server's is (on purpose)
            await asyncio.sleep(0.0005)  # the next request comes back over the network

    async def main():
        await asyncio.gather(*(client(k) for k in range(8)))

    run(main())
    middle = task.calls[1:-1]  # the first pass has only the early group, the last only the late one
    assert middle.count(8) >= len(middle) - 1, task.calls
