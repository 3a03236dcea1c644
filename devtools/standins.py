"""In-process stand-ins for the kiosk's ports: a card on a reader, a ticket desk, a
printer. They behave like the devices, errors included (wrong PIN counts down, the card
refuses at one try left, the printer runs out of paper), and are used when config asks
for them, by the UI tests and by the benchmark. The device-level stand-ins (the card
emulator behind pcscd, the ESC/POS printer) live in hardware/.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kiosk.domain.application import Application, Authenticity
from kiosk.domain.catalog import Catalog, Procedure, Ward
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.session import BookingInfo, Ticket
from kiosk.domain.visit import RoutedRequest, TicketStage
from kiosk.ui.ports import CardError, CheckedIn, CheckInRefused

DEMO_HOLDER = {"name": "堺\u3000花子", "address": "大阪府堺市北区新金岡町５丁１－１",
               "birth_date": "1985-03-07", "sex": "2"}


@dataclass
class StandInCard:
    pin: str = "1234"
    tries: int = 3
    holder: Mapping[str, str] = field(default_factory=lambda: dict(DEMO_HOLDER))
    number: str = "123456789018"
    powered: bool = True
    verified: bool = False
    verify_calls: int = 0
    code_b: str = "60030720354821"   # era birth date + expiry year + security code
    code_b_tries: int = 10
    reads: int = 0             # how often the basic four were read (a visit: once)

    def tries_left(self) -> int:
        return self.tries

    def verify(self, pin: str) -> tuple[bool, int | None]:
        if not self.powered:
            raise CardError("カードが読み取れませんでした。もう一度置いてください。")
        if self.tries <= 1:
            raise CardError("暗証番号の残り回数が1回以下のため、この機械では確認できません。"
                            "カードなしで進むか、職員をお呼びください。")
        self.verify_calls += 1
        if pin == self.pin:
            self.tries = 3
            self.verified = True
            return True, None
        self.tries -= 1
        return False, self.tries

    def code_b_tries_left(self) -> int:
        return self.code_b_tries

    def verify_code_b(self, code: str) -> tuple[bool, int | None]:
        if not self.powered:
            raise CardError("カードが読み取れませんでした。もう一度置いてください。")
        if self.code_b_tries <= 2:
            return False, self.code_b_tries   # never the last two: not sent
        self.verify_calls += 1
        if code == self.code_b:
            self.code_b_tries = 10
            self.verified = True
            return True, None
        self.code_b_tries -= 1
        return False, self.code_b_tries

    def _need_pin(self) -> None:
        if not (self.powered and self.verified):
            raise CardError("カードが読み取れませんでした。もう一度置いてください。")

    def read_holder(self) -> Mapping[str, str]:
        self._need_pin()
        self.reads += 1
        return dict(self.holder)

    def read_my_number(self) -> MyNumberCheck:
        self._need_pin()
        return MyNumberCheck.of(self.number)

    def authenticity(self) -> Authenticity:
        return Authenticity.GENUINE

    def close(self) -> None:
        self.powered = False
        self.verified = False


@dataclass
class StandInReader:
    """A reader; `place(card)` puts a card on it, `remove()` takes it away."""

    card: StandInCard | None = None

    def place(self, card: StandInCard | None = None) -> StandInCard:
        self.card = card or StandInCard(powered=False)
        return self.card

    def remove(self) -> None:
        self.card = None

    def poll(self) -> StandInCard | None:
        if self.card is None:
            return None
        self.card.powered = True
        return self.card


@dataclass
class LocalDesk:
    """Numbers tickets on the kiosk itself, like the sync package's offline mode: no
    estimate of people ahead or waiting time, and the ticket says so."""

    online: bool = False
    counters: dict[str, itertools.count[int]] = field(default_factory=dict)
    issued: list[Application] = field(default_factory=list)
    visits: list[RoutedRequest] = field(default_factory=list)  # routed tickets issued
    fail: bool = False
    # code → what it was booked for; the code of a booking absent here is unknown
    bookings: dict[str, BookingInfo] = field(default_factory=dict)

    def check_in(self, code: str, ward: Ward, language: str, *,
                 visit: RoutedRequest | None = None, forms_first: bool = False) -> CheckedIn:
        """Offline (the stand-in's default) like the real link: no check-in without the
        back-office; online, a booking it was given gets a number of its service (a
        life event's: first its forms, then a routed ticket)."""
        if self.fail or not self.online:
            raise CheckInRefused("offline")
        booking = self.bookings.get(code)
        if booking is None:
            raise CheckInRefused("no_booking")
        if visit is not None:
            return CheckedIn(self.issue_visit(visit, ward, language), booking)
        if forms_first and booking.life_event is not None:
            return CheckedIn(None, booking)
        return CheckedIn(self._number(booking.service, False), booking)

    def issue(self, application: Application, procedure: Procedure, ward: Ward) -> Ticket:
        if self.fail:
            raise ConnectionError("desk unavailable")
        self.issued.append(application)
        return self._number(procedure.service, "assistance" in application.notes)

    def issue_visit(self, request: RoutedRequest, ward: Ward, language: str) -> Ticket:
        """One number for the whole visit: the first stage's letter."""
        if self.fail:
            raise ConnectionError("desk unavailable")
        self.visits.append(request)
        self.issued.extend(request.applications)
        ticket = self._number(request.service, any("assistance" in a.notes
                                                   for a in request.applications))
        from kiosk.configfile import load_catalog
        return replace(ticket, route=TicketStage.planned(request.route, load_catalog()),
                       guide=request.guide)

    def _number(self, service: str, assistance: bool) -> Ticket:
        n = next(self.counters.setdefault(service, itertools.count(1)))
        prefix = {"certificates": "A", "moving": "B", "family": "C", "insurance": "D",
                  "children": "E", "assistance": "S"}.get(service, "Z")
        ahead = (n - 1) % 5 if self.online else None
        return Ticket(number=f"{prefix}-{n:03d}", service=service, people_ahead=ahead,
                      wait_minutes=ahead * 4 if ahead is not None else None,
                      offline=not self.online, status_url=None, assistance=assistance,
                      reference=f"kiosk:{prefix}-{n:03d}")


@dataclass
class InProcessPrinter:
    paper: bool = True
    printed: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)   # the slip's language, per ticket

    def print_ticket(self, ticket: Ticket, procedure: Procedure, ward: Ward,
                     language: str = "ja") -> str | None:
        if not self.paper:
            return "用紙がありません。"
        self.printed.append(ticket.number)
        self.languages.append(language)
        return None

    def print_visit(self, ticket: Ticket, request: RoutedRequest, event_name: str,
                    catalog: Catalog, ward: Ward, language: str = "ja") -> str | None:
        """The ticket, then the 手続き案内票 (recorded as "<number> 案内票")."""
        problem = self.print_ticket(ticket, catalog.procedure(request.procedure), ward)
        if problem is None:
            self.printed.append(f"{ticket.number} 案内票")
        return problem
