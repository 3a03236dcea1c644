"""The kiosk app's seams to the devices and the back-office: small Protocols.

The screens never talk to a device directly; the controller calls these. The real
adapters (kiosk.ui.adapters: card package, printing package, sync package) and the
in-process stand-ins of the dev tools both satisfy them, so the app runs — and is
tested — whichever pieces are present. `KioskDevices` is the set of them one kiosk runs
with. No Kivy here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.domain.application import Application, Authenticity
from kiosk.domain.catalog import Catalog, Procedure, Ward
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.session import BookingInfo, Ticket
from kiosk.domain.visit import RoutedRequest


class PinBlockedError(RuntimeError):
    """The card refused to take a PIN because it is (nearly) blocked."""


class CardError(RuntimeError):
    """The card could not be used; `msgid` (+ `params`) is what the resident is told."""

    def __init__(self, msgid: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = dict(params or {})


class CardLink(Protocol):
    """One powered My Number card, for one resident's visit."""

    def tries_left(self) -> int: ...

    def verify(self, pin: str) -> tuple[bool, int | None]:
        """(accepted, tries left after a refusal). Must refuse at ≤ 1 try left."""
        ...

    def code_b_tries_left(self) -> int:
        """照合番号B's own counter; costs no try."""
        ...

    def verify_code_b(self, code: str) -> tuple[bool, int | None]:
        """照合番号B (14 digits): (accepted, tries left after a refusal). Must refuse at
        ≤ 2 tries left (never spends the last two)."""
        ...

    def read_holder(self) -> Mapping[str, str]:
        """The basic four: name, address, birth_date (YYYY-MM-DD), sex (code)."""
        ...

    def read_my_number(self) -> MyNumberCheck:
        """Only for forms that carry a 個人番号; the number itself never leaves."""
        ...

    def authenticity(self) -> Authenticity: ...

    def close(self) -> None:
        """Unpower the card: its PIN state ends here."""
        ...


class CardReader(Protocol):
    def poll(self) -> CardLink | None:
        """A powered card if one is on the reader now, else None. Never blocks long."""
        ...


class CheckInRefused(RuntimeError):
    """A booking's check-in did not give a ticket: `code` is the back-office's error code
    (no_booking, wrong_ward, too_early, booking_missed, not_bookable) or "offline";
    `details` its details (kiosk.domain.checkin turns both into the resident's words)."""

    def __init__(self, code: str, details: Mapping[str, object] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.details = dict(details or {})


@dataclass(frozen=True)
class CheckedIn:
    """A booking checked in: its queue ticket and what it was booked for."""

    ticket: Ticket | None       # None: a booked life event, its forms first
    booking: BookingInfo


class TicketDesk(Protocol):
    """Issues queue tickets (the sync package, local-first)."""

    def check_in(self, code: str, ward: Ward, language: str, *,
                 visit: RoutedRequest | None = None, forms_first: bool = False) -> CheckedIn:
        """A booking's ticket by its code (online only); raises CheckInRefused.
        `forms_first`: a life-event booking answers without a ticket (the kiosk fills the
        event's forms, then checks in again with them as `visit`: a routed ticket)."""
        ...

    def issue(self, application: Application, procedure: Procedure, ward: Ward) -> Ticket: ...

    def issue_visit(self, request: RoutedRequest, ward: Ward, language: str) -> Ticket:
        """One routed ticket for a life-event visit: every stage, form and guide item."""
        ...


class TicketPrinter(Protocol):
    def print_ticket(self, ticket: Ticket, procedure: Procedure, ward: Ward,
                     language: str = "ja") -> str | None:
        """None when printed, else the Japanese msgid of the problem (paper out, …).
        The slip is in the resident's `language` with the Japanese under each line."""
        ...

    def print_visit(self, ticket: Ticket, request: RoutedRequest, event_name: str,
                    catalog: Catalog, ward: Ward, language: str = "ja") -> str | None:
        """A routed visit's ticket (with its route) and its 手続き案内票, in the resident's
        `language` with the Japanese under each line; answers as print_ticket."""
        ...


class CashlessPayment(Protocol):
    """The payment issue plugs in here: a screen that takes `amount_yen` for one
    reference and reports back through `done(paid)`; see docs/kiosk.md."""

    def start(self, amount_yen: int, reference: str, done: object,
              method: str | None = None) -> object:
        """Begin a payment; returns the Kivy widget to show on the cashless screen.
        `method`: the one the resident chose on the payment screen ("code", "terminal"),
        started at once — the resident is not asked twice; None: the widget asks."""
        ...

    def cancel(self) -> None: ...


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class KioskDevices:
    """What one kiosk app talks to, assembled in one place (kiosk.ui.adapters.make_devices
    from config/kiosk.toml, or the dev tools' stand-ins)."""

    reader: CardReader
    printer: TicketPrinter
    desk: TicketDesk
    catalog: Catalog | None = None            # None: config/catalog.toml
    payment: CashlessPayment | None = None    # None: no cashless screen
    report_maintainer: Callable[[dict[str, Any]], None] | None = None  # → the back-office
    close: Callable[[], None] = _nothing      # closes the devices when the app exits
    runner: Callable[..., Any] | None = None  # background steps (None: a thread each)
    voice: Any = None                         # kiosk.speech.Voice ([voice]); None: silent
    health: Any = None                        # kiosk.ui.health.HealthReporter (→ heartbeat)
    keypad: Any = None                        # kiosk.keypad.Keypad ([keypad]); None: none
    link: Any = None                          # kiosk.sync.KioskLink (its catalog updates)
    scanner: Any = None                       # kiosk.scanner.BarcodeScanner ([scanner]); None
    updates: Any = None                       # kiosk.fleet.agent.UpdateAgent ([fleet]); None
