"""Assembles the kiosk's devices from config (`make_devices`) and adapts the other
packages to the kiosk's ports.

    [card] backend       → kiosk.card.open_reader() (the device registry, kiosk.devices)
    [printer] transport  → kiosk.printing.open_printer() (likewise)
    [ui] desk = "sync"   → kiosk.sync.KioskLink (its [backoffice] + [store] sections)
              "standin"  → local numbers (the `desk.standin` device of the dev tools)
    [ui] cashless        → kiosk.payment's widget (its [payment] section)
    [voice] device, [keypad] device → kiosk.speech, kiosk.keypad (the registry)
    [scanner] backend    → kiosk.scanner (a booking's QR at check-in; the registry)

Every section comes from the one reading of kiosk.toml that `UiConfig.load` made. The
adapters translate those APIs (docs/card.md, docs/printing.md, docs/sync.md) into the
kiosk's ports (kiosk.ui.ports) and nothing more.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kiosk.domain.application import Application, Authenticity, Identity
from kiosk.domain.catalog import Procedure, Ward
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.section import Section
from kiosk.domain.session import BookingInfo, Ticket
from kiosk.domain.visit import RoutedRequest, TicketStage
from kiosk.ui.health import HealthReporter
from kiosk.ui.ports import CardError, CheckedIn, CheckInRefused, KioskDevices, TicketDesk
from kiosk.ui.settings import UiConfig

log = logging.getLogger(__name__)


def _card_error(exc: Any) -> CardError:
    return CardError(str(exc.msgid), dict(exc.params))


class CardLinkAdapter:
    """kiosk.card's CardApplet as the kiosk's CardLink port (errors become resident
    messages)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def tries_left(self) -> int:
        from kiosk.card import CardError as DeviceError
        try:
            return int(self.session.tries_left())
        except DeviceError as exc:
            raise _card_error(exc) from None

    def verify(self, pin: str) -> tuple[bool, int | None]:
        from kiosk.card import CardError as DeviceError
        from kiosk.card import LastPinTry, PinBlocked, WrongPin
        try:
            self.session.verify(pin)
        except WrongPin as exc:
            return False, int(exc.tries_left)
        except LastPinTry:
            return False, 1   # nothing was sent; the session explains and offers the way on
        except PinBlocked:
            return False, 0
        except DeviceError as exc:
            raise _card_error(exc) from None
        return True, None

    def code_b_tries_left(self) -> int:
        from kiosk.card import CardError as DeviceError
        try:
            return int(self.session.code_b_tries_left())
        except DeviceError as exc:
            raise _card_error(exc) from None

    def verify_code_b(self, code: str) -> tuple[bool, int | None]:
        from kiosk.card import CardError as DeviceError
        from kiosk.card import CodeBBlocked, CodeBTriesLow, WrongCodeB
        try:
            self.session.verify_code_b(code)
        except (WrongCodeB, CodeBTriesLow) as exc:   # the latter: nothing was sent
            return False, int(exc.tries_left)
        except CodeBBlocked:
            return False, 0
        except DeviceError as exc:
            raise _card_error(exc) from None
        return True, None

    def read_holder(self) -> Mapping[str, str]:
        from kiosk.card import CardError as DeviceError
        try:
            return dict(self.session.read_holder().form_values())
        except DeviceError as exc:
            raise _card_error(exc) from None

    def read_my_number(self) -> MyNumberCheck:
        from kiosk.card import CardError as DeviceError
        try:
            return MyNumberCheck.of(self.session.read_my_number())  # the number goes no further
        except DeviceError as exc:
            raise _card_error(exc) from None

    def authenticity(self) -> Authenticity:
        from kiosk.card import CardError as DeviceError
        try:
            return Authenticity(self.session.check_authenticity().status)
        except DeviceError as exc:
            raise _card_error(exc) from None

    def close(self) -> None:
        self.session.close()


class CardReaderAdapter:
    def __init__(self, reader: Any) -> None:
        self.reader = reader

    def poll(self) -> CardLinkAdapter | None:
        from kiosk.card import CardError as DeviceError
        try:
            session = self.reader.poll()
        except DeviceError as exc:
            raise _card_error(exc) from None
        return CardLinkAdapter(session) if session is not None else None

    def close(self) -> None:
        self.reader.close()


class LinkDesk:
    """kiosk.sync's KioskLink as the ticket desk: local-first, offline says so."""

    def __init__(self, link: Any, place: str = "") -> None:
        self.link = link
        self.place = place    # where the kiosk stands ([ui] place), for the floor staff
        self.last: Any = None  # the IssuedTicket (its key/id for payment and follow-ups)

    def issue(self, application: Application, procedure: Procedure, ward: Ward) -> Ticket:
        # "Ask staff": the procedure's own queue, marked for assistance, so the counter
        # that handles the procedure helps (the back-office's priority "assistance").
        assisted = application.identity is Identity.ASSISTED
        if assisted:   # and a floor staff member (案内係) comes to the kiosk
            self.link.ask_floor(self.place)
        issued = self.link.issue_ticket(procedure.service, procedure=procedure.code,
                                        application=application,
                                        priority="assistance" if assisted else False,
                                        language=application.language)
        return self._ticket(issued, assisted)

    @staticmethod
    def _routed(request: RoutedRequest) -> Any:
        from kiosk.sync import RoutedVisit
        return RoutedVisit(
            life_event=request.life_event,
            route=[(s.service, s.procedures) for s in request.route],
            applications=request.applications, guide=[g.to_dict() for g in request.guide])

    def issue_visit(self, request: RoutedRequest, ward: Ward, language: str) -> Ticket:
        assisted = any(a.identity is Identity.ASSISTED for a in request.applications)
        if assisted:
            self.link.ask_floor(self.place)
        routed = self._routed(request)
        issued = self.link.issue_ticket(request.service, routed=routed, language=language,
                                        priority="assistance" if assisted else False)
        # The back-office's stages when it answered; the planned ones for an offline ticket.
        stages = (TicketStage.from_response(list(issued.route)) if issued.route
                  else TicketStage.planned(request.route, self.link.catalog()))
        return replace(self._ticket(issued, assisted), route=stages, guide=request.guide)

    def check_in(self, code: str, ward: Ward, language: str, *,
                 visit: RoutedRequest | None = None, forms_first: bool = False) -> CheckedIn:
        """The booking's ticket from the back-office (online only: the booking is there;
        offline, nothing happens and the code works again later)."""
        from kiosk.sync import IssueRefused, Offline
        from kiosk.sync.remote import minutes
        try:
            answer = self.link.check_in(code, routed=None if visit is None
                                        else self._routed(visit), forms_first=forms_first)
        except IssueRefused as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            raise CheckInRefused(exc.code, details) from None
        except Offline:
            raise CheckInRefused("offline") from None
        t = answer["ticket"]
        a = answer.get("appointment") or answer["remote"]   # a booking, or a place from home
        self.last = answer
        ticket = None if t is None else Ticket(
            number=str(t["number"]), service=str(t["service"]),
            people_ahead=t.get("people_ahead"),
            wait_minutes=minutes(t.get("estimated_wait_seconds")), offline=False,
            status_url=t.get("status_url"), reference=f"ticket:{t['id']}")
        if ticket is not None and visit is not None:
            stages = (TicketStage.from_response(t["route"]) if t.get("route")
                      else TicketStage.planned(visit.route, self.link.catalog()))
            ticket = replace(ticket, route=stages, guide=visit.guide)
        return CheckedIn(ticket, BookingInfo(
            service=str(a["service"]), procedure=a.get("procedure"),
            life_event=a.get("life_event"), slot=str(a.get("slot", "")),
            late=bool(answer.get("late"))))

    def _ticket(self, issued: Any, assisted: bool) -> Ticket:
        self.last = issued
        server_id = None if issued.offline else self.link.ticket_id(issued.key)
        return Ticket(number=issued.number, service=issued.service,
                      people_ahead=issued.people_ahead, wait_minutes=issued.wait_minutes,
                      offline=issued.offline, status_url=issued.status_url,
                      assistance=assisted,
                      reference=f"ticket:{server_id}" if server_id else f"kiosk:{issued.key}")

    def close(self) -> None:
        self.link.stop()


def make_devices(cfg: UiConfig) -> KioskDevices:
    """The kiosk's devices as config/kiosk.toml names them (one switch per device)."""
    from kiosk.card import open_reader
    from kiosk.card.config import CardConfig
    from kiosk.devices import registry
    from kiosk.printing.config import PrinterConfig, open_printer
    from kiosk.printing.kiosk_port import KioskTicketPrinter

    root = Section(cfg.data, cfg.file)
    base = Path(cfg.file).parent
    closers: list[Callable[[], None]] = []

    def close() -> None:
        for closer in reversed(closers):
            try:
                closer()
            except Exception:  # shutting down: log and go on with the rest
                log.warning("closing a device failed", exc_info=True)

    try:
        reader = CardReaderAdapter(open_reader(
            CardConfig.from_section(root.section("card", {}), base)))
        closers.append(reader.close)
        printer = KioskTicketPrinter(open_printer(
            PrinterConfig.from_section(root.section("printer", None))))
        closers.append(printer.close)
        desk: TicketDesk
        catalog = report = health = updates = None
        link = None
        if cfg.desk == "standin":
            desk = registry().factory("desk", "standin", file=cfg.file, key="ui.desk")()
        else:
            from kiosk.sync import KioskLink
            from kiosk.sync.settings import parse_settings
            link = KioskLink(parse_settings(dict(cfg.data), cfg.file, base))
            link.start()
            closers.append(link.stop)
            desk, catalog, report = (LinkDesk(link, cfg.place), link.catalog(),
                                     link.report_maintainer)
        payment = cashless_payment(cfg) if cfg.session.cashless else None
        if link is not None:
            terminal = getattr(getattr(payment, "terminal", None), "diagnosis", None)
            health = health_reporter(link, reader, printer, terminal).start()
            closers.append(health.stop)
            from kiosk.fleet.agent import start_update_agent
            updates = start_update_agent(link, dict(cfg.data), cfg.file)
            if updates is not None:
                closers.append(updates.stop)
        voice = open_voice(root, cfg.file)
        closers.append(voice.close)
        from kiosk.keypad import open_keypad
        keypad = open_keypad(root, cfg.file)
        closers.append(keypad.close)
        from kiosk.scanner import ScannerConfig, open_scanner
        scanner = open_scanner(ScannerConfig.from_section(root.section("scanner", {}), base))
        if scanner is not None:
            closers.append(scanner.close)
    except BaseException:
        close()
        raise
    return KioskDevices(reader=reader, printer=printer, desk=desk, catalog=catalog,
                        payment=payment, report_maintainer=report, close=close, voice=voice,
                        health=health, keypad=keypad, link=link, scanner=scanner,
                        updates=updates)


def open_voice(root: Section, file: str) -> Any:
    """The voice `[voice] device` names (kiosk.speech; "offline" when the section is absent)."""
    from kiosk.devices import registry
    from kiosk.speech import SpeechConfig
    config = SpeechConfig.from_section(root.section("voice", {}))
    return registry().factory("voice", config.device, file=file, key="voice.device")(config)


def health_reporter(link: Any, reader: CardReaderAdapter, printer: Any,
                    terminal: Any = None) -> HealthReporter:
    """The kiosk's health probe, reporting through the link (idle until the app says how
    to tell: `build_app` sets `idle` to "no visit under way"); `terminal`: the payment
    terminal's diagnosis, when the kiosk has one."""
    every = min(link.settings.backoffice.heartbeat_seconds, 10.0)
    from kiosk.service import image_version
    image = image_version().split(" ")[0]
    send = link.report_health
    if image != "development":   # in an image: the image's version, as the stand-in reports
        send = functools.partial(link.report_health, app_version=image[:64])
    return HealthReporter(send, printer_status=printer.printer.status,
                          readers=reader.reader.readers,
                          data_dir=Path(link.settings.store.path).parent,
                          idle=lambda: True, every=every, terminal=terminal)


def cashless_payment(cfg: UiConfig) -> Any:
    """The payment package's widget for the cashless screen (docs/payment.md)."""
    from kiosk.payment.client import PaymentClient
    from kiosk.payment.config import KioskPaymentSettings
    from kiosk.payment.terminal import open_terminal
    from kiosk.payment.widget import KioskCashless
    from kiosk.sync.settings import parse_settings

    pay = KioskPaymentSettings.from_section(Section(cfg.data, cfg.file).section("payment", {}))
    link = parse_settings(dict(cfg.data), cfg.file, Path(cfg.file).parent).backoffice
    # the same pinned CA as the kiosk's other back-office traffic (the token travels here too)
    client = PaymentClient(link.url, link.device_token(), timeout_s=pay.request_timeout,
                           verify=link.verify)
    return KioskCashless(client, open_terminal(pay.terminal), pay.methods,
                         poll_seconds=pay.poll_seconds, language=cfg.session.language)
