"""Chooses the ports from config and adapts the other packages to them.

    [ui] card    = "device"  → kiosk.card.open_reader() (its [card] section: pcsc/emulator)
                   "standin" → kiosk.ui.standins (in-process)
    [ui] printer = "device"  → kiosk.printing (its [printer] section, stand-in included)
    [ui] desk    = "sync"    → kiosk.sync.KioskLink (its [backoffice] + [store] sections)

The adapters translate those APIs (docs/card.md, docs/printing.md, docs/sync.md) into
the kiosk's ports (kiosk.ui.ports) and nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kiosk.domain.application import Application, Authenticity, Identity
from kiosk.domain.catalog import Procedure, Ward
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.session import Ticket
from kiosk.ui.ports import CardError
from kiosk.ui.settings import UiConfig
from kiosk.ui.standins import LocalDesk, StandInPrinter, StandInReader

log = logging.getLogger(__name__)


def _card_error(exc: Any) -> CardError:
    return CardError(str(exc.msgid), dict(exc.params))


class CardSessionAdapter:
    """kiosk.card's CardSession as the kiosk's port (errors become resident messages)."""

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

    def poll(self) -> CardSessionAdapter | None:
        from kiosk.card import CardError as DeviceError
        try:
            session = self.reader.poll()
        except DeviceError as exc:
            raise _card_error(exc) from None
        return CardSessionAdapter(session) if session is not None else None

    def close(self) -> None:
        self.reader.close()


class LinkDesk:
    """kiosk.sync's KioskLink as the ticket desk: local-first, offline says so."""

    def __init__(self, link: Any) -> None:
        self.link = link
        self.last: Any = None  # the IssuedTicket (its key/id for payment and follow-ups)

    def issue(self, application: Application, procedure: Procedure, ward: Ward) -> Ticket:
        # "Ask staff": the procedure's own queue, marked for assistance, so the counter
        # that handles the procedure helps (the back-office's priority "assistance").
        assisted = application.identity is Identity.ASSISTED
        issued = self.link.issue_ticket(procedure.service, procedure=procedure.code,
                                        application=application,
                                        priority="assistance" if assisted else False,
                                        language=application.language)
        self.last = issued
        server_id = None if issued.offline else self.link.ticket_id(issued.key)
        return Ticket(number=issued.number, service=issued.service,
                      people_ahead=issued.people_ahead, wait_minutes=issued.wait_minutes,
                      offline=issued.offline, status_url=issued.status_url,
                      assistance=assisted,
                      reference=f"ticket:{server_id}" if server_id else f"kiosk:{issued.key}")

    def close(self) -> None:
        self.link.stop()


def make_ports(cfg: UiConfig, *, demo: bool = False) -> dict[str, Any]:
    ports: dict[str, Any] = {}
    closers = []
    if demo or cfg.card == "standin":
        reader = StandInReader()
        reader.place()
        ports["reader"] = reader
    else:
        from kiosk.card import open_reader
        from kiosk.card.config import CardConfig
        card_reader = CardReaderAdapter(open_reader(CardConfig.load(cfg.file or None)))
        ports["reader"] = card_reader
        closers.append(card_reader.close)
    if demo or cfg.printer == "standin":
        ports["printer"] = StandInPrinter()
    else:
        from kiosk.printing.config import load_printer_config, open_printer
        from kiosk.printing.kiosk_port import KioskTicketPrinter
        printer = KioskTicketPrinter(open_printer(load_printer_config(cfg.file or None)))
        ports["printer"] = printer
        closers.append(printer.close)
    if demo or cfg.desk == "standin":
        ports["desk"] = LocalDesk()
    else:
        from kiosk.sync import KioskLink
        link = KioskLink.from_config(cfg.file or None)
        link.start()
        ports["desk"] = LinkDesk(link)
        ports["catalog"] = link.catalog()
        ports["report_maintainer"] = link.report_maintainer
        closers.append(link.stop)

    if cfg.session.cashless and not demo:
        ports["payment"] = cashless_payment(cfg)

    def close() -> None:
        for closer in closers:
            try:
                closer()
            except Exception:  # shutting down: log and go on with the rest
                log.warning("closing a device failed", exc_info=True)

    ports["close"] = close
    return ports


def cashless_payment(cfg: UiConfig) -> Any:
    """The payment package's widget for the cashless screen (docs/payment.md)."""
    from kiosk.payment.client import PaymentClient
    from kiosk.payment.config import load_payment_config
    from kiosk.payment.terminal import NexoTcpTerminal
    from kiosk.payment.widget import KioskCashless
    from kiosk.sync.settings import load_settings

    pay = load_payment_config()
    link = load_settings(cfg.file or None).backoffice
    client = PaymentClient(link.url, link.device_token(), timeout_s=pay.kiosk.request_timeout)
    t = pay.kiosk.terminal
    terminal = (NexoTcpTerminal(t.host, t.port, sale_id=t.sale_id, timeout_s=t.timeout,
                                recover_s=t.recover) if t.kind == "nexo" else None)
    return KioskCashless(client, terminal, pay.methods, poll_seconds=pay.kiosk.poll_seconds,
                         language=cfg.session.language)
