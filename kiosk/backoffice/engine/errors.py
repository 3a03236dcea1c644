"""What the queue engine refuses, and why: typed errors with no notion of HTTP.

Each carries a machine code (``"ward_closed"``), a sentence for people and optional details
(``field=...``). The web layer turns them into status codes and the JSON error body in one
place (``kiosk.backoffice.errors.to_http``).
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """A refusal of the engine; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] | None = details or None


class NotFound(EngineError):
    """The thing asked for does not exist (or is not the caller's to see)."""


class Forbidden(EngineError):
    """The caller may not do this."""


class Conflict(EngineError):
    """The request is well formed but the present state refuses it (``code`` says why)."""


class Invalid(EngineError):
    """The request itself is wrong (``details["field"]`` names the field where known)."""


class Gone(EngineError):
    """It existed, and has ended or been purged."""


class Unauthenticated(EngineError):
    """The caller's proof (a signature, a credential) does not hold."""


class Malformed(EngineError):
    """The body is not what the caller is expected to send at all."""


class Unavailable(EngineError):
    """This server cannot do it now (not configured, or busy)."""


def not_found(what: str) -> NotFound:
    return NotFound("not_found", f"{what} does not exist")


def forbidden(message: str) -> Forbidden:
    return Forbidden("forbidden", message)


def conflict(code: str, message: str, **details: Any) -> Conflict:
    return Conflict(code, message, **details)


def invalid(code: str, message: str, **details: Any) -> Invalid:
    return Invalid(code, message, **details)
