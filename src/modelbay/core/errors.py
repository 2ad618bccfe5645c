"""Errors that say what was wrong and how to fix it.

Every error a user can cause derives from ``ModelbayError`` and carries an HTTP
status so the server maps it to a 4xx/5xx response without special cases.
"""

from __future__ import annotations

from collections.abc import Iterable


class ModelbayError(Exception):
    """Base class; ``status_code`` is what the HTTP server answers with."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} ({hint})")

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body


class BadInput(ModelbayError, ValueError):
    """The caller sent something the task cannot use (wrong type, undecodable media, too big)."""

    status_code = 422
    code = "bad_input"


class PayloadTooLarge(BadInput):
    status_code = 413
    code = "payload_too_large"


class UnknownTask(ModelbayError, KeyError):
    """No task of that name or alias is registered."""

    status_code = 404
    code = "unknown_task"

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0] if self.args else self.message


class ModelNotFound(ModelbayError, LookupError):
    """A catalog entry, or the files it points at, are not available here."""

    status_code = 404
    code = "model_not_found"


class ModelUnavailable(ModelbayError):
    """The model is known but cannot be loaded (files missing, checksum mismatch, offline)."""

    status_code = 503
    code = "model_unavailable"


class NetworkDisabled(ModelUnavailable):
    """Something tried to reach a hub while modelbay is offline."""

    code = "network_disabled"


def field_path(parts: Iterable[str | int]) -> str:
    """A validation error's location as a client writes it (one spelling for the server and ``Task.coerce``).

    >>> field_path(["inputs", 0, "question"])
    'inputs[0].question'
    """
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    return path
