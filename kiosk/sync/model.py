"""What the kiosk app gets back from the link: plain frozen dataclasses and errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any


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
    route: tuple[Mapping[str, Any], ...] | None = None  # a routed visit's stages (online only)

    @property
    def qr_text(self) -> str | None:
        return self.status_url


@dataclass(frozen=True)
class RoutedVisit:
    """A life-event visit's extra ticket fields (docs/api.md, contract of issue #17):
    the event, the route's stages in order, the guide (non-personal) — sent with the
    ticket's body — and one application per procedure done here (personal: sealed in the
    outbox like a single application). `service`/`procedure` of the ticket are then the
    first stage's, and its number's letter the first stage's prefix."""

    life_event: str
    route: Sequence[tuple[str, Sequence[str]]]        # (service, procedures) per stage
    applications: Sequence[Any] = ()                   # kiosk.domain Application objects
    guide: Sequence[Mapping[str, Any]] = ()            # {"name","place","office","bring","url"}

    def wire(self) -> dict[str, Any]:
        """The non-personal part of the POST /tickets body."""
        return {"life_event": self.life_event,
                "route": [{"service": service, "procedures": list(procedures)}
                          for service, procedures in self.route],
                "guide": [dict(item) for item in self.guide]}

    def first(self) -> tuple[str, str | None]:
        service, procedures = self.route[0]
        return service, (procedures[0] if procedures else None)


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
    """The back-office refused the ticket; nothing was issued. `details`: the error
    body's details (e.g. a check-in's `slot`/`opens`, or the booking's `ward`)."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        self.code = code
        self.message = message
        self.details = details
        super().__init__(f"{code}: {message}")


class Offline(SyncError):
    """An online-only call (a booking's check-in) found the back-office unreachable;
    nothing was done, so nothing is lost: the same call works again later."""


class NoOfflineNumbers(SyncError):
    """Offline, and no reserved number is left for that service today."""

    def __init__(self, service: str) -> None:
        self.service = service
        super().__init__(f"no offline number left for {service}")
