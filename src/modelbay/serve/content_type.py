"""Treat request bodies as JSON unless they say they are something else we parse.

`curl -d '{"inputs": [...]}'` sends ``application/x-www-form-urlencoded``; every
modelbay route that takes a body takes JSON (multipart uploads keep their type),
so a missing or form content type is read as JSON instead of failing.
"""

from __future__ import annotations

_KEEP = (b"application/json", b"multipart/form-data")


class JSONByDefault:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH"):
            current = b""
            for key, value in scope.get("headers", ()):
                if key == b"content-type":
                    current = value.lower()
                    break
            if not current.startswith(_KEEP) and not current.endswith(b"+json"):
                # a copy only when something changes: the router then records the matched route on the
                # caller's own scope, where the access log reads it (no second route match per request)
                headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-type"]
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
