"""API-key authentication, per-key usage counts and per-key rate limits, as pure ASGI middleware.

Pure ASGI (not BaseHTTPMiddleware) so streamed responses pass through unbuffered.
When ``config.auth_required`` (the default unless the server binds to loopback only),
every request except the open paths below must carry ``Authorization: Bearer <key>``.
``/metrics`` is *not* open: it can reveal traffic and per-key usage, and Prometheus
sends a bearer token with ``authorization: {credentials: <key>}`` in its scrape config.

When auth is not required, a request with a valid key is still counted and rate
limited, and a request with an unknown key is served anonymously: local clients such
as the ``openai`` package insist on sending *some* key, and loopback stays frictionless.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from .keys import KeyStore

log = logging.getLogger("modelbay.serve.auth")

#: paths served without a key: probes for load balancers, and the API docs
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
_HINT = "create one with `modelbay keys create NAME`, then send `Authorization: Bearer <key>`"


class RateLimiter:
    """A token bucket per key: bursts up to ``per_minute`` requests, refilled at ``per_minute / 60`` per second.

    In memory, per process: with several server processes each one enforces the limit on its own.

    >>> t = [0.0]; limiter = RateLimiter(2, clock=lambda: t[0])
    >>> limiter.acquire("k"), limiter.acquire("k"), limiter.acquire("k")
    (0.0, 0.0, 30.0)
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"rate limit must be at least 1 request per minute, got {per_minute}")
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when last updated)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0.0 if allowed, else the seconds until one is."""
        with self._lock:
            now = self.clock()
            tokens, stamp = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.refill_per_s)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.refill_per_s


@dataclass
class AuthState:
    """What the middleware uses; on ``app.state.auth`` so tests and admin code can reach it."""

    required: bool
    store: KeyStore
    limiter: RateLimiter | None = None
    open_paths: frozenset[str] = field(default=OPEN_PATHS)


class APIKeyAuth:
    def __init__(self, app, state: AuthState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        auth = self.state
        if path in auth.open_paths:
            return await self.app(scope, receive, send)
        header = _header(scope, b"authorization")
        scheme, _, token = header.partition(" ")
        # verify() is one indexed SQLite read (tens of µs, never behind a write): cheap enough for the event loop
        key_id = auth.store.verify(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if key_id is None:
            if not auth.required:
                return await self.app(scope, receive, send)
            if not header:
                message, challenge = "this server needs an API key; the request has no Authorization header", "Bearer"
            elif scheme.lower() != "bearer" or not token.strip():
                message, challenge = "expected `Authorization: Bearer <key>`", 'Bearer error="invalid_request"'
            else:
                message, challenge = "the API key is not valid: unknown, mistyped or revoked", 'Bearer error="invalid_token"'
            return await _reject(scope, send, 401, "unauthorized", message, _HINT, {"www-authenticate": challenge})
        if auth.limiter is not None:
            wait_s = auth.limiter.acquire(key_id)
            if wait_s > 0:
                retry = max(1, math.ceil(wait_s))
                per_minute = int(auth.limiter.capacity)
                return await _reject(scope, send, 429, "rate_limited",
                                     f"API key {key_id} is over its limit of {per_minute} requests per minute",
                                     f"retry after {retry} s, or raise auth.rate_limit_per_minute",
                                     {"retry-after": str(retry)})
        auth.store.record_use(key_id)
        scope.setdefault("state", {})["api_key_id"] = key_id  # request.state.api_key_id for logs and metrics
        await self.app(scope, receive, send)


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return ""


async def _reject(scope, send, status: int, code: str, message: str, hint: str, headers: dict[str, str]) -> None:
    if scope["type"] == "websocket":  # closing before accept makes the handshake fail with 403
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps({"error": {"code": code, "message": message, "hint": hint}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def install(app, ctx) -> None:
    """Add the key check to ``app`` (called by ``create_app``); the store lives on ``app.state.auth``."""
    config = ctx.config
    store = KeyStore(config.auth.keys_db)
    limit = config.auth.rate_limit_per_minute
    state = AuthState(required=config.auth_required, store=store, limiter=RateLimiter(limit) if limit else None)
    app.state.auth = state
    app.add_middleware(APIKeyAuth, state=state)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        _warn_at_startup(state, config)
        try:
            async with inner(a) as lifespan_state:
                yield lifespan_state
        finally:
            store.close()  # writes the usage counts still pending

    app.router.lifespan_context = lifespan


def _warn_at_startup(state: AuthState, config) -> None:
    if state.required:
        try:
            active = state.store.active_count()
        except Exception as exc:  # noqa: BLE001 - a broken key file must not stop the server from saying why
            log.error("cannot read the API key file %s: %s", state.store.path, exc)
            return
        if active == 0:
            log.warning("API keys are required (the server binds to %s) but %s holds no active key, so every "
                        "request except /healthz and /readyz will get 401; create one with "
                        "`modelbay keys create NAME`", config.host, state.store.path)
    elif not config.loopback_only:
        log.warning("API keys are NOT required although the server binds to %s (auth.required is false): "
                    "anyone who can reach it can use it", config.host)
