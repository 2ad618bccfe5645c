"""Request ids and structured access logs, as a pure ASGI middleware.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one buffers and
re-wraps responses, which breaks server-sent events and hides the real status of
streamed answers. This middleware only watches ``receive``/``send`` go by.

Every HTTP request gets a request id: the caller's ``X-Request-ID`` when it is a
sane short token, otherwise a fresh one. The id goes back in the ``X-Request-ID``
response header, into ``scope["state"]["request_id"]`` for handlers, and into the
access log line.

With JSON logs on, each request writes one line to the ``modelbay.access`` logger::

    {"ts": "2025-01-01T12:00:00.123Z", "request_id": "9f1c...", "method": "POST",
     "path": "/v1/tasks/sentiment", "route": "/v1/tasks/sentiment", "status": 200,
     "duration_ms": 3.41, "bytes_in": 52, "bytes_out": 118, "client": "127.0.0.1",
     "api_key_id": null}
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from starlette.routing import Match

access_log = logging.getLogger("modelbay.access")

REQUEST_ID_HEADER = b"x-request-id"
#: the ``route`` label of requests that match no route: one value, however many paths scanners try
UNMATCHED_ROUTE = "<unmatched>"
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
_MAX_LOGGED_PATH = 2048


@dataclass
class RequestRecord:
    """What one finished request looked like; one access log line, one metrics observation."""

    ts: str
    request_id: str
    method: str
    path: str
    route: str
    status: int
    duration_ms: float
    bytes_in: int
    bytes_out: int
    client: str | None
    api_key_id: str | None

    @property
    def duration_s(self) -> float:
        return self.duration_ms / 1000

    def to_json(self) -> str:
        """The access log line: the fields in declaration order (no deep copy, unlike ``asdict``)."""
        return json.dumps(self.__dict__, ensure_ascii=False)


_second: tuple[int, str] = (-1, "")


def utc_timestamp(now: float) -> str:
    """``2025-01-01T12:00:00.123Z`` for a ``time.time()`` value; the seconds part is formatted once per second.

    >>> utc_timestamp(1735732800.1234)
    '2025-01-01T12:00:00.123Z'
    """
    global _second
    whole = int(now)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((now - whole) * 1000):03d}Z"


# fresh ids: a random per-process prefix and a counter (32 hex digits, unique in the process, not
# guessable across processes) -- a uuid4 per request costs an os.urandom call on the event loop
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` if it is a sane token (letters, digits, ``._:-``, at most 128), else a new one.

    >>> request_id_from([(b"x-request-id", b"abc-123")])
    'abc-123'
    >>> len(request_id_from([(b"x-request-id", b"<script>")]))
    32
    """
    for key, value in headers:
        if key == REQUEST_ID_HEADER:
            try:
                candidate = value.decode("ascii")
            except UnicodeDecodeError:
                break
            if _SANE_ID.fullmatch(candidate):
                return candidate
            break
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"



def route_template(router, scope) -> str:
    """The template of the route a request hit (``/v1/tasks/{name}``), never the raw path.

    Inner middleware may copy the scope, so the router's ``scope["route"]`` is not always
    visible out here; matching again is a few regexes, after the response is sent.
    """
    route = scope.get("route")
    if route is None and router is not None:
        partial = None
        for candidate in router.routes:
            match, _child = candidate.matches(scope)
            if match is Match.FULL:
                route = candidate
                break
            if match is Match.PARTIAL and partial is None:
                partial = candidate  # right path, wrong method: 405 on a real route
        route = route or partial
    return getattr(route, "path", None) or UNMATCHED_ROUTE


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners and uvicorn's reloader swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def ensure_access_handler() -> None:
    """Make access lines appear on stderr under uvicorn, whose log config leaves our loggers alone.

    One handler per process however many apps are built; the logger does not propagate,
    so a root handler set up by the host application does not print each line twice.
    A level set by the user is kept.
    """
    if not any(getattr(h, "_modelbay_access", False) for h in access_log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._modelbay_access = True  # type: ignore[attr-defined]
        access_log.addHandler(handler)
    if access_log.level == logging.NOTSET:
        access_log.setLevel(logging.INFO)
    access_log.propagate = False


class RequestObserver:
    """ASGI middleware: request ids, one :class:`RequestRecord` per request for ``listeners``, JSON log lines.

    ``on_start``/``on_end`` bracket every HTTP request (in-flight gauges); ``listeners``
    get the finished record (counters, histograms).
    """

    def __init__(self, app, router=None, log_json: bool = True,
                 listeners: list[Callable[[RequestRecord], None]] | None = None,
                 on_start: Callable[[], None] | None = None, on_end: Callable[[], None] | None = None) -> None:
        self.app = app
        self.router = router
        self.log_json = log_json
        self.listeners = listeners or []
        self.on_start = on_start
        self.on_end = on_end

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = request_id_from(scope.get("headers", []))
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        header_value = request_id.encode("ascii")
        status = 0
        bytes_in = 0
        bytes_out = 0

        async def counting_receive():
            nonlocal bytes_in
            message = await receive()
            if message["type"] == "http.request":
                bytes_in += len(message.get("body", b""))
            return message

        async def tagging_send(message):
            nonlocal status, bytes_out
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, header_value)]}
            elif message["type"] == "http.response.body":
                bytes_out += len(message.get("body", b""))
            await send(message)

        started = time.perf_counter()
        if self.on_start:
            self.on_start()
        try:
            await self.app(scope, counting_receive, tagging_send)
        except BaseException:
            status = status or 500  # the server's error middleware answers 500 for what escapes here
            raise
        finally:
            if self.on_end:
                self.on_end()
            record = RequestRecord(
                ts=utc_timestamp(time.time()),
                request_id=request_id,
                method=scope.get("method", ""),
                path=scope.get("path", "")[:_MAX_LOGGED_PATH],
                route=route_template(self.router, scope),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                bytes_in=bytes_in or _declared_length(scope),  # a body nobody read still arrived
                bytes_out=bytes_out,
                client=(scope.get("client") or (None,))[0],
                api_key_id=_api_key_id(state),
            )
            self._finish(record)

    def _finish(self, record: RequestRecord) -> None:
        for listener in self.listeners:
            try:
                listener(record)
            except Exception:  # observability must never fail a request
                logging.getLogger("modelbay.serve").exception("request listener failed")
        if self.log_json and access_log.isEnabledFor(logging.INFO):
            # makeRecord + handle is what .info() does, less the stack walk that finds the caller's
            # line number: one line per request, so its cost counts (the line says where it is from)
            access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, record.to_json(),
                                                    None, None, "access", {"access": record}))


def _declared_length(scope) -> int:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _api_key_id(state: dict) -> str | None:
    value = state.get("api_key_id")  # set by the auth middleware, when there is one
    return None if value is None else str(value)


__all__ = ["UNMATCHED_ROUTE", "RequestObserver", "RequestRecord", "ensure_access_handler", "request_id_from",
           "route_template"]
