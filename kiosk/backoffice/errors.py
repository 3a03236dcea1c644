"""The one error shape of the API: ``{"error": code, "message": text, "details": {...}}``.

``ApiError`` is raised by the HTTP layer itself (sign-in, streams, request limits); the
engine raises the typed errors of ``kiosk.backoffice.engine.errors``, mapped here.
"""

from __future__ import annotations

from typing import Any

from kiosk.backoffice.engine.errors import (
    Conflict,
    EngineError,
    Forbidden,
    Gone,
    Invalid,
    Malformed,
    NotFound,
    Unauthenticated,
    Unavailable,
)


class ApiError(Exception):
    """Raised by the HTTP layer; the app turns it into the JSON error body."""

    def __init__(self, status: int, code: str, message: str,
                 details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


# The one place where the engine's refusals become HTTP status codes.
STATUS: dict[type[EngineError], int] = {
    Malformed: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409,
    Gone: 410, Invalid: 422, Unavailable: 503,
}


def to_http(exc: EngineError | ApiError) -> ApiError:
    """The HTTP form of a refusal, whichever layer raised it."""
    if isinstance(exc, ApiError):
        return exc
    return ApiError(STATUS[type(exc)], exc.code, exc.message, exc.details)
