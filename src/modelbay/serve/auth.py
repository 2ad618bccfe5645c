"""API-key authentication, per-key usage counts and per-key rate limits, as pure ASGI middleware.

Pure ASGI (not BaseHTTPMiddleware) so streamed responses pass through unbuffered.
When ``config.auth_required`` (the default unless the server binds to loopback only),
every request except the open paths below must carry ``Authorization: Bearer <key>``.
``/metrics`` is *not* open: it can reveal traffic and per-key usage, and Prometheus
sends a bearer token with ``authorization: {credentials: <key>}`` in its scrape config.

Every valid key is held to its scopes (``key_scopes.py``): ``/v1/jobs*`` needs ``train``,
``/metrics`` needs ``metrics``, the rest ``run``; ``admin`` has them all. A key without
the scope gets 403 ``insufficient_scope``, whether or not keys are required.

When auth is not required, a request with a valid key is still counted and rate
limited, and a request with an unknown key is served anonymously: local clients such
as the ``openai`` package insist on sending *some* key, and loopback stays frictionless.
Anonymous requests then have full access; ``browser_guard.py`` keeps web pages out.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from ..core.errors import ModelbayError
from .asgi_errors import request_header, route_path, send_error
from .docs_assets import ASSET_PATHS as DOCS_ASSET_PATHS
from .key_scopes import scope_for_path
from .keys import KeyStore

log = logging.getLogger("modelbay.serve.auth")

#: paths served without a key: probes for load balancers, and the API docs
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/redoc", "/openapi.json"}) | DOCS_ASSET_PATHS
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


class Unauthorized(ModelbayError):
    status_code = 401
    code = "unauthorized"


class RateLimited(ModelbayError):
    status_code = 429
    code = "rate_limited"


class MissingScope(ModelbayError):
    status_code = 403
    code = "insufficient_scope"


class APIKeyAuth:
    def __init__(self, app, state: AuthState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = route_path(scope)
        auth = self.state
        if path in auth.open_paths:
            return await self.app(scope, receive, send)
        header = request_header(scope, b"authorization") or ""
        scheme, _, token = header.partition(" ")
        # one indexed SQLite read (tens of µs, never behind a write): cheap enough for the event loop
        grant = auth.store.authenticate(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if grant is None:
            if not auth.required:  # anonymous on an open server: full access (the browser guard covers browsers)
                return await self.app(scope, receive, send)
            return await _refuse_unauthenticated(scope, send, header, scheme, token)
        # a key that was sent and is valid is the caller's identity, on an open server too: its scopes apply
        needed = scope_for_path(path, scope.get("method", "GET"))
        if not grant.allows(needed):
            have = ", ".join(sorted(grant.scopes))
            error = MissingScope(f"API key {grant.id} lacks the {needed!r} scope that {path} needs (it has: {have})",
                                 hint=f"use a key that has it; create one with `modelbay keys create NAME "
                                      f"--scope {needed}` (a key's scopes are fixed when it is created)")
            challenge = f'Bearer error="insufficient_scope", scope="{needed}"'
            return await send_error(scope, send, error, {"www-authenticate": challenge})
        if auth.limiter is not None:
            wait_s = auth.limiter.acquire(grant.id)
            if wait_s > 0:
                retry = max(1, math.ceil(wait_s))
                per_minute = int(auth.limiter.capacity)
                error = RateLimited(f"API key {grant.id} is over its limit of {per_minute} requests per minute",
                                    hint=f"retry after {retry} s, or raise auth.rate_limit_per_minute")
                return await send_error(scope, send, error, {"retry-after": str(retry)})
        auth.store.record_use(grant.id)
        scope.setdefault("state", {})["api_key_id"] = grant.id  # request.state.api_key_id for logs and metrics
        await self.app(scope, receive, send)


async def _refuse_unauthenticated(scope, send, header: str, scheme: str, token: str) -> None:
    if not header:
        message, challenge = "this server needs an API key; the request has no Authorization header", "Bearer"
    elif scheme.lower() != "bearer" or not token.strip():
        message, challenge = "expected `Authorization: Bearer <key>`", 'Bearer error="invalid_request"'
    else:
        message, challenge = "the API key is not valid: unknown, mistyped or revoked", 'Bearer error="invalid_token"'
    await send_error(scope, send, Unauthorized(message, hint=_HINT), {"www-authenticate": challenge})


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
