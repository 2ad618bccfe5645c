"""Read request bodies as JSON or multipart, and never take a web page's form or text for JSON.

Every modelbay route that takes a body takes JSON, or multipart/form-data for uploads. On POST/PUT/PATCH:

- ``application/json``, ``*/*+json``, ``multipart/form-data``: passed on as they are.
- no Content-Type, or ``application/x-www-form-urlencoded`` (what ``curl -d`` sends) without an Origin
  header: read as JSON, so ``curl -d '{"inputs": [...]}'`` works. curl and SDKs never send Origin. A form
  *with* an Origin is a browser's HTML form: 415. A body without any Content-Type can only come from a
  script (HTML forms always name one), which sends Origin and is vetted by ``browser_guard.py``.
- anything else: 415 naming the fix. ``text/plain`` is the one that matters: an HTML form with
  ``enctype="text/plain"`` can spell valid JSON and needs no CORS preflight, so reading it as JSON would
  let any web page post to an open server (CSRF).
- an empty body (``Content-Length: 0``) passes whatever it says: there is nothing to misread.
"""

from __future__ import annotations

from ..core.errors import ModelbayError
from .asgi_errors import send_error

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PASS = frozenset({b"application/json", b"multipart/form-data"})
_FORM = b"application/x-www-form-urlencoded"
_HINT = ("send the body as JSON with `Content-Type: application/json` (curl: -H 'content-type: application/json' "
         "or --json; fetch: headers: {'content-type': 'application/json'}), or multipart/form-data for uploads")


class UnsupportedContentType(ModelbayError):
    status_code = 415
    code = "unsupported_media_type"


class JSONByDefault:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            return await self.app(scope, receive, send)
        declared, has_origin, empty = None, False, False
        for key, value in scope.get("headers", ()):
            if key == b"content-type" and declared is None:
                declared = value
            elif key == b"origin":
                has_origin = True
            elif key == b"content-length":
                empty = value.strip() == b"0"
        media_type = (declared or b"").split(b";", 1)[0].strip().lower()
        if media_type in _PASS or media_type.endswith(b"+json") or empty:
            return await self.app(scope, receive, send)
        if declared is None or (media_type == _FORM and not has_origin):
            # a copy only when something changes: the router then records the matched route on the
            # caller's own scope, where the access log reads it (no second route match per request)
            headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
            return await self.app(scope, receive, send)
        shown = declared.decode("latin-1")[:100]
        if media_type == _FORM:
            error = UnsupportedContentType(f"an HTML form body ({shown}) from a web page (the request has an "
                                           "Origin header) is not accepted: request bodies are JSON", hint=_HINT)
        else:
            error = UnsupportedContentType(f"Content-Type {shown!r} is not accepted: request bodies are JSON, "
                                           "or multipart/form-data for uploads", hint=_HINT)
        await send_error(scope, send, error)
