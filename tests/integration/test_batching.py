"""Dynamic batching: concurrent requests share forward passes; failures and limits stay per request.

Every test here runs on a virtual clock (``virtual_time.py``): a forward pass "takes" its
``delay_s`` by moving that clock, arrivals happen at the virtual times the test says, and the
batcher's waits are timers on the same clock. So which requests share a pass is decided by the
test, never by how busy the machine is.
"""

import asyncio
import functools
import threading
from types import SimpleNamespace

import pytest
from virtual_time import VirtualClock
from virtual_time import run as run_virtual

from modelbay.core.errors import BadInput
from modelbay.core.task import Task, TaskInput, TaskOutput
from modelbay.serve.batching import Batcher, ServerBusy
from modelbay.serve.config import BatchingConfig

pytestmark = [pytest.mark.timeout(120),  # a deadlock fails instead of hanging; no outcome depends on it
              pytest.mark.models("sentiment")]


class NumIn(TaskInput):
    value: int


class NumOut(TaskOutput):
    doubled: int


class Doubler(Task[NumIn, NumOut]):
    """A real task whose forward pass takes ``delay_s`` of the clock, so requests pile up behind it."""

    name = "doubler"
    Input = NumIn
    Output = NumOut
    default_model = "doubler"

    def __init__(self, clock: VirtualClock, delay_s=0.05):
        super().__init__()
        self.model = SimpleNamespace(spec=SimpleNamespace(name="doubler"))
        self.clock = clock
        self.delay_s = delay_s
        self.calls: list[int] = []

    def _forward(self, batch):
        self.calls.append(len(batch))
        self.clock.sleep(self.delay_s)
        if any(item.value < 0 for item in batch):
            raise BadInput("negative values are not allowed")
        return [NumOut(doubled=2 * item.value) for item in batch]


def _items(*values):
    return [NumIn(value=v) for v in values]


def _batcher(task: Doubler, **config) -> Batcher:
    return Batcher(task, BatchingConfig(**config), threading.Lock(), clock=task.clock)


def test_requests_that_arrive_during_a_pass_form_the_next_batch_and_each_gets_its_own_answers():
    """One request at t=0 runs alone; 19 more arrive 10 ms into its 50 ms pass and share the next passes."""
    clock = VirtualClock()
    task = Doubler(clock)
    batcher = _batcher(task, max_batch_size=32, max_wait_ms=0)

    async def later(i):
        await asyncio.sleep(0.01)
        return await batcher.submit(_items(i, 100 + i))

    async def main():
        return await asyncio.gather(batcher.submit(_items(0, 100)), *(later(i) for i in range(1, 20)))

    results = run_virtual(main(), clock)
    assert [[o.doubled for o in r] for r in results] == [[2 * i, 2 * (100 + i)] for i in range(20)]
    assert task.calls == [2, 32, 6]  # a request's items are never split: 16 requests fill 32


def test_batch_size_is_capped_and_requests_are_never_split():
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0.01)
    batcher = _batcher(task, max_batch_size=5, max_wait_ms=0)

    async def main():
        return await asyncio.gather(*(batcher.submit(_items(1, 2)) for _ in range(10)))

    run_virtual(main(), clock)
    assert task.calls == [4] * 5  # a third two-item request would make 6: it waits for the next pass


def test_batching_off_means_one_request_per_pass():
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0)
    batcher = _batcher(task, enabled=False)

    async def main():
        return await asyncio.gather(*(batcher.submit(_items(i)) for i in range(6)))

    run_virtual(main(), clock)
    assert task.calls == [1] * 6


def test_a_lone_request_waits_at_most_max_wait_ms():
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0)
    batcher = _batcher(task, max_batch_size=32, max_wait_ms=20)

    async def main():
        [out] = await batcher.submit(_items(7))
        return out.doubled, clock()

    assert run_virtual(main(), clock) == (14, pytest.approx(0.020))


def test_a_failing_item_fails_only_its_own_request():
    clock = VirtualClock()
    task = Doubler(clock)
    batcher = _batcher(task, max_batch_size=32, max_wait_ms=20)

    async def main():
        return await asyncio.gather(batcher.submit(_items(1)), batcher.submit(_items(-1)), batcher.submit(_items(3)),
                                    return_exceptions=True)

    good1, bad, good2 = run_virtual(main(), clock)
    assert good1[0].doubled == 2 and good2[0].doubled == 6
    assert isinstance(bad, BadInput) and "negative" in str(bad)
    assert task.calls == [3, 1, 1, 1]  # the batch failed, so each request ran again on its own


def test_a_full_queue_refuses_with_server_busy():
    """Eight requests at once into a queue of three: the first three wait their turn, the other five are refused."""
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0.2)
    batcher = _batcher(task, max_batch_size=1, max_wait_ms=0, max_queue=3)

    async def main():
        return await asyncio.gather(*(batcher.submit(_items(i)) for i in range(8)), return_exceptions=True)

    results = run_virtual(main(), clock)
    refused = [r for r in results if isinstance(r, ServerBusy)]
    assert len(refused) == 5 and refused[0].status_code == 503 and refused[0].retry_after_s >= 1
    assert [r[0].doubled for r in results[:3]] == [0, 2, 4]


def test_server_batches_concurrent_http_requests_for_a_real_model(monkeypatch):
    """Through the HTTP app: 24 concurrent requests to the real sentiment model share one pass. Its batchers
    run on the virtual clock, and the model loads first, so no thread hands work back at a time the machine picks."""
    import httpx

    from modelbay.serve import context
    from modelbay.serve.app import create_app
    from modelbay.serve.config import ServerConfig

    clock = VirtualClock()
    monkeypatch.setattr(context, "Batcher", functools.partial(Batcher, clock=clock))
    app = create_app(ServerConfig(batching={"max_batch_size": 64, "max_wait_ms": 20}))
    ctx = app.state.ctx
    ctx.pool.get("sentiment")

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            texts = [f"I love this shop {i}" for i in range(24)]
            return await asyncio.gather(*(client.post("/v1/tasks/sentiment", json={"inputs": [t]}) for t in texts))

    responses = run_virtual(main(), clock)
    assert all(r.status_code == 200 for r in responses)
    assert all(r.json()["outputs"][0]["label"] == "positive" for r in responses)
    assert list(ctx.batchers[("sentiment", "sentiment-e5-mlp")].recent_batch_sizes) == [24]


def test_a_request_that_takes_too_long_gets_504():
    """The pass blocks until the test has seen the 504, so it cannot finish first however the machine runs."""
    from modelbay.serve.config import ServerConfig
    from modelbay.serve.context import RequestTimeout, ServerContext

    clock = VirtualClock()
    release = threading.Event()
    task = Doubler(clock, delay_s=0)
    task._forward = lambda batch: release.wait() and [NumOut(doubled=0) for _ in batch]
    ctx = ServerContext(ServerConfig(request_timeout_s=0.05))
    key = ("doubler", "doubler")
    ctx.pool.slot(key).task = task
    ctx.pool.key = lambda t, m: key  # the test task is not in the registry; the pool is otherwise real

    async def main():
        try:
            await ctx.run("doubler", None, _items(1))
        finally:
            release.set()

    with pytest.raises(RequestTimeout) as info:
        asyncio.run(main())  # a real loop and a real worker thread: the one that blocks
    assert info.value.status_code == 504


def _closed_loop(batcher, clock, callers: int, rounds: int, gap_s: float = 0.001):
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

    run_virtual(main(), clock)


@pytest.mark.parametrize("regroup_ms", [0, 50])
def test_steady_callers_regroup_into_one_batch_instead_of_alternating_halves(regroup_ms):
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0.02)
    _closed_loop(_batcher(task, max_batch_size=32, max_wait_ms=0, regroup_wait_ms=regroup_ms), clock, callers=8, rounds=6)
    later = task.calls[1:]
    assert task.calls[0] == 8 and sum(later) == 8 * 5
    if regroup_ms:  # every round is one pass of all 8 callers
        assert later == [8] * 5, task.calls
    else:  # without it the callers split up: a pass takes whoever was back in time
        assert len(task.calls) > 8 and later.count(8) < len(later) / 2, task.calls


def test_a_lone_caller_never_waits_to_regroup():
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0.0)
    batcher = _batcher(task, max_batch_size=32, max_wait_ms=0, regroup_wait_ms=100)
    _closed_loop(batcher, clock, callers=1, rounds=5)
    assert task.calls == [1] * 5
    assert batcher._peak == 1  # so a batch of one is already all the callers there are: no wait
    assert clock() == 0  # and no time passed waiting


def test_regrouping_waits_while_callers_keep_arriving():
    """Arrivals 3 ms apart over 21 ms, regroup_wait_ms 10: the wait runs from the latest arrival, not from
    the first one, so every round is still one pass of all 8 (a 10 ms wait from the first would cut it)."""
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0.02)
    batcher = _batcher(task, max_batch_size=32, max_wait_ms=0, regroup_wait_ms=10)
    _closed_loop(batcher, clock, callers=8, rounds=6, gap_s=0.003)
    assert task.calls == [8] * 6


def test_regrouping_wait_is_capped():
    """Requests that keep trickling in (one per ms, each gap under regroup_wait_ms) do not hold a pass
    forever: after 60 callers were in flight at once, a trickle of 60 starts its pass after at most
    4 x regroup_wait_ms (20 ms), with the ~20 that came by then, not with all 60."""
    from modelbay.serve.batching import REGROUP_CAP_FACTOR

    assert REGROUP_CAP_FACTOR * 5 == 20
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0.05)
    batcher = _batcher(task, max_batch_size=64, max_wait_ms=0, regroup_wait_ms=5)

    async def main():
        await asyncio.gather(*(batcher.submit(_items(k)) for k in range(60)))  # 60 in flight: expected next
        pending = []
        for k in range(60):
            pending.append(asyncio.ensure_future(batcher.submit(_items(k))))
            await asyncio.sleep(0.001)
        outs = await asyncio.gather(*pending)
        assert [o.doubled for [o] in outs] == [2 * k for k in range(60)]

    run_virtual(main(), clock)
    assert task.calls[0] == 60 and 19 <= task.calls[1] <= 21, task.calls


def test_split_callers_merge_again_when_answering_takes_time():
    """Callers split into a group of 5 and a late group of 3. Answering takes the event loop 2 ms per
    request (5 answers: 10 ms, more than regroup_wait_ms) and each next request arrives 0.5 ms after its
    answer, as over a socket. The regroup wait must count from when the answers are out, not from the end
    of the pass, or the late group goes alone every time and the two groups keep taking turns."""
    clock = VirtualClock()
    task = Doubler(clock, delay_s=0.03)
    batcher = _batcher(task, max_batch_size=32, max_wait_ms=0, regroup_wait_ms=3)

    async def client(k):
        if k >= 5:
            await asyncio.sleep(0.01)  # arrives while the first group's pass runs
        for r in range(8):
            [out] = await batcher.submit(_items(k * 100 + r))
            assert out.doubled == 2 * (k * 100 + r)
            clock.sleep(0.002)  # the event loop busy answering, as a server's is
            await asyncio.sleep(0.0005)  # the next request comes back over the network

    async def main():
        await asyncio.gather(*(client(k) for k in range(8)))

    run_virtual(main(), clock)
    middle = task.calls[1:-1]  # the first pass has only the early group, the last only the late one
    assert task.calls[0] == 5 and task.calls[-1] == 3 and middle == [8] * 7, task.calls
