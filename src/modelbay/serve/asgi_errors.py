"""Answer a request with a ``ModelbayError`` from pure ASGI middleware, outside FastAPI's exception handlers.

The body is the envelope every route uses: ``{"error": {"code", "message", "hint"}}``.
"""

from __future__ import annotations

import json

from ..core.errors import ModelbayError


async def send_error(scope, send, error: ModelbayError, headers: dict[str, str] | None = None) -> None:
    """Send ``error`` as the response (or refuse a WebSocket handshake with it)."""
    if scope["type"] == "websocket":  # closing before accept makes the handshake fail with 403
        await send({"type": "websocket.close", "code": 1008, "reason": error.message[:120]})
        return
    body = json.dumps({"error": error.to_dict()}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def request_header(scope, name: bytes) -> str | None:
    """The first ``name`` header (lower-case bytes) of the request, decoded; None when absent."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1").strip()
    return None


def route_path(scope) -> str:
    """The request path without the app's root path (what routes and policies are written against)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    return path
