"""Prometheus metrics at ``GET /metrics``, request ids and JSON access logs for every request.

Each app gets its own :class:`~prometheus_client.CollectorRegistry`, so several apps
in one process (tests, multi-app hosts) never clash. Request metrics come from the
:class:`~modelbay.serve.access_log.RequestObserver` middleware, batch metrics from
the batchers' listeners, and state (queues, loaded models, memory) is read at scrape
time, so an idle server costs nothing between scrapes.

Labels stay bounded: ``route`` is the route template, with every unmatched path
collapsed into ``<unmatched>``; ``method`` outside the usual verbs becomes ``OTHER``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector

from .access_log import RequestObserver, RequestRecord, ensure_access_handler
from .pool import rss_bytes

if TYPE_CHECKING:
    from .context import ServerContext

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServerMetrics:
    """The metrics of one app. ``registry`` is what ``/metrics`` renders.

    >>> from modelbay.serve.config import ServerConfig
    >>> from modelbay.serve.context import ServerContext
    >>> m = ServerMetrics(ServerContext(ServerConfig()))
    >>> m.on_batch("sentiment", "sentiment-vader", 3, 0.002)
    >>> m.registry.get_sample_value("modelbay_batch_size_count", {"task": "sentiment", "model": "sentiment-vader"})
    1.0
    """

    def __init__(self, ctx: ServerContext) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("modelbay_requests", "HTTP requests answered, by route template, method and status",
                                ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram("modelbay_request_seconds", "HTTP request duration until the last byte",
                                         ["route"], buckets=_SECONDS_BUCKETS, registry=r)
        self.inflight = Gauge("modelbay_inflight_requests", "HTTP requests being handled now", registry=r)
        self.batch_size = Histogram("modelbay_batch_size", "items per forward pass (dynamic batching)",
                                    ["task", "model"], buckets=_BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram("modelbay_batch_seconds", "duration of one forward pass",
                                       ["task", "model"], buckets=_SECONDS_BUCKETS, registry=r)
        self._request_children: dict[tuple[str, str, int], tuple] = {}  # bounded: routes x methods x statuses
        r.register(_StateCollector(ctx))
        ProcessCollector(registry=r)  # process_cpu_seconds_total, process_resident_memory_bytes, open fds...

    def on_request(self, record: RequestRecord) -> None:
        method = record.method if record.method in _METHODS else "OTHER"
        key = (record.route, method, record.status)
        children = self._request_children.get(key)
        if children is None:  # .labels() validates and locks on every call; look each series up once
            children = (self.requests.labels(record.route, method, str(record.status)),
                        self.request_seconds.labels(record.route))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(record.duration_s)

    def on_batch(self, task: str, model: str, batch_items: int, seconds: float) -> None:
        """A batcher listener: runs in the forward-pass thread (prometheus_client is thread-safe)."""
        self.batch_size.labels(task, model).observe(batch_items)
        self.batch_seconds.labels(task, model).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector:
    """Queue depths, loaded models and memory, read from the server context at scrape time."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def _families(self):
        return (
            GaugeMetricFamily("modelbay_queue_items", "items waiting for a forward pass", labels=["task", "model"]),
            GaugeMetricFamily("modelbay_models_loaded", "models loaded in this process"),
            GaugeMetricFamily("modelbay_model_loaded", "1 if the model is loaded, 0 if unloaded or failed",
                              labels=["task", "model"]),
            GaugeMetricFamily("modelbay_model_load_seconds", "how long the last load of the model took",
                              labels=["task", "model"]),
            CounterMetricFamily("modelbay_model_unloads", "times the model was unloaded (memory budget)",
                                labels=["task", "model"]),
            GaugeMetricFamily("modelbay_process_resident_bytes", "resident memory of the server process"),
            GaugeMetricFamily("modelbay_memory_budget_bytes", "memory budget for loaded models (0: none)"),
        )

    def describe(self):
        return self._families()

    def collect(self):
        queue, count, loaded, load_s, unloads, rss, budget = self._families()
        for (task, model), batcher in list(self.ctx.batchers.items()):
            queue.add_metric([task, model], batcher.queued_items)
        n_loaded = 0
        for (task, model), slot in self.ctx.pool.status().items():
            if slot.loaded_at is None:  # never loaded: a typo'd model name must not become a label value
                continue
            is_loaded = slot.task is not None
            n_loaded += is_loaded
            loaded.add_metric([task, model], 1 if is_loaded else 0)
            if slot.load_s is not None:
                load_s.add_metric([task, model], slot.load_s)
            unloads.add_metric([task, model], slot.unloads)
        count.add_metric([], n_loaded)
        rss.add_metric([], rss_bytes())
        budget.add_metric([], self.ctx.pool.memory_budget_bytes or 0)
        return [queue, count, loaded, load_s, unloads, rss, budget]


def install(app: FastAPI, ctx: ServerContext) -> None:
    """Add ``GET /metrics``, the batch listener and the request middleware (outermost, so it sees every answer).

    >>> from modelbay.serve.app import create_app  # create_app calls install() itself
    >>> create_app().state.metrics.registry is not None
    True
    """
    metrics = ServerMetrics(ctx)
    app.state.metrics = metrics
    ctx.batch_listeners.append(metrics.on_batch)
    if ctx.config.access_log_json:
        ensure_access_handler()
    app.add_middleware(RequestObserver, router=app.router, log_json=ctx.config.access_log_json,
                       listeners=[metrics.on_request], on_start=metrics.inflight.inc, on_end=metrics.inflight.dec)

    async def metrics_route() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics_route, methods=["GET"], include_in_schema=False)


__all__ = ["ServerMetrics", "install"]
