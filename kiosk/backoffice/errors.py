"""The one error shape of the API: ``{"error": code, "message": text, "details": {...}}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere in the back-office; the app turns it into the JSON error body."""

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


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def conflict(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(409, code, message, details or None)


def unprocessable(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(422, code, message, details or None)
