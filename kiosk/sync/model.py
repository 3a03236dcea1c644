"""What the kiosk app gets back from the link: plain frozen dataclasses and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time


@dataclass(frozen=True)
class IssuedTicket:
    key: str                    # id on this kiosk = the Idempotency-Key sent with it
    number: str                 # "A-012"
    service: str
    procedure: str | None
    language: str
    priority: bool
    issued_at: datetime         # aware, office time zone (kiosk clock corrected for skew)
    offline: bool               # True: the wait is unknown — say so on screen and paper
    people_ahead: int | None = None
    wait_minutes: int | None = None
    status_url: str | None = None
    fee_yen: int | None = None  # the back-office's figure (online only)

    @property
    def qr_text(self) -> str | None:
        return self.status_url


@dataclass(frozen=True)
class OpeningState:
    open: bool
    opens: time | None
    closes: time | None
    source: str                 # "backoffice" | "cache" | "config"


@dataclass(frozen=True)
class WaitEstimate:
    service: str
    waiting: int | None
    minutes: int | None
    as_of: datetime | None
    fresh: bool


@dataclass(frozen=True)
class LinkStatus:
    online: bool
    pending: int
    dead: int
    last_contact: datetime | None
    offline_numbers_left: dict[str, int] = field(default_factory=dict)
    clock_offset_seconds: float = 0.0


@dataclass(frozen=True)
class Endpoint:
    url: str                    # base URL, e.g. https://backoffice.kita.example
    token: str                  # the kiosk's device token (Authorization: Bearer)
    verify: bool | str          # requests' verify: True or the CA bundle path
    timeout_s: float


class SyncError(Exception):
    """Base of the errors the link raises to the kiosk app."""


class IssueRefused(SyncError):
    """The back-office refused the ticket; nothing was issued."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class NoOfflineNumbers(SyncError):
    """Offline, and no reserved number is left for that service today."""

    def __init__(self, service: str) -> None:
        self.service = service
        super().__init__(f"no offline number left for {service}")
