"""ASGI middleware that refuses request bodies over a size limit with 413, without reading them whole."""

from __future__ import annotations

import json


class BodySizeLimit:
    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._reject(send)
        seen = 0
        too_big = False
        started = False

        async def counting_receive():
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    raise _TooLarge
            return message

        async def guarded_send(message):
            # once the body is over the limit, whatever the app answers (a body parser turns the
            # interruption into a 400) is replaced by our 413
            nonlocal started
            if too_big:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass
        if too_big and not started:
            await self._reject(send)

    async def _reject(self, send) -> None:
        body = json.dumps({"error": {"code": "payload_too_large",
                                     "message": f"request body is over the limit of {self.max_bytes} bytes",
                                     "hint": "send fewer or smaller items, or raise MODELBAY_LIMIT_MAX_BODY_BYTES"}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
