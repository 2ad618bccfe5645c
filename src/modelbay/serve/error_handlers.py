"""The one error body of every HTTP error: ``{"error": {"code", "message", "hint"}}``.

``ModelbayError`` maps to its own status and code; validation errors become 422 naming
each bad field (a field no schema has is "unknown field", at the top level or in an
item); Starlette's routing errors (404 no such path, 405 wrong method) and any other
``HTTPException`` get the same envelope instead of FastAPI's ``{"detail": ...}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..core.errors import ModelbayError, field_path
from .request_inputs import SHAPE_TAGS

#: what a client sent a field no schema has; the field's name is the error's location
UNKNOWN_FIELD = "unknown field; see the schema at GET /docs"
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 429: "rate_limited"}


def error_response(status: int, code: str, message: str, hint: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def http_error_response(method: str, path: str, status: int, detail: Any,
                        headers: dict[str, str] | None = None) -> JSONResponse:
    """The envelope for an ``HTTPException``; routing's 404/405 say what was asked and where to look.

    >>> http_error_response("GET", "/v1/taks", 404, "Not Found").body
    b'{"error":{"code":"not_found","message":"no route GET /v1/taks","hint":"GET /docs lists every route"}}'
    """
    code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "http_error")
    if status == 404 and detail == "Not Found":
        message, hint = f"no route {method} {path}", "GET /docs lists every route"
    elif status == 405 and detail == "Method Not Allowed":
        allowed = (headers or {}).get("Allow", "another method")  # Starlette's 405 names the methods
        message, hint = f"{path} does not take {method}; it takes {allowed}", "GET /docs lists every route"
    else:
        message, hint = str(detail), None
    return error_response(status, code, message, hint, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ModelbayError)
    async def _modelbay_error(_req: Request, exc: ModelbayError):
        retry = getattr(exc, "retry_after_s", None)
        return error_response(exc.status_code, exc.code, exc.message, exc.hint,
                              headers={"Retry-After": str(retry)} if retry else None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors()[:5]:
            loc = field_path(p for p in err.get("loc", ()) if p != "body" and p not in SHAPE_TAGS)
            msg = err.get("msg")
            if err.get("type") == "extra_forbidden" and msg == "Extra inputs are not permitted":  # pydantic's wording
                msg = UNKNOWN_FIELD
            problems.append(f"{loc or 'body'}: {msg}")
        return error_response(422, "bad_input", "; ".join(problems) or "invalid request body")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(req: Request, exc: StarletteHTTPException):
        return http_error_response(req.method, req.url.path, exc.status_code, exc.detail, exc.headers)
