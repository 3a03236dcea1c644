"""Cashless payment inside the kiosk app, end to end: real touches on the real app (SDL
offscreen), the ticket issued on a real back-office process (kiosk.sync's KioskLink),
then the payment package's widget (`KioskCashless` → `PaymentFlow`) against the
back-office's payment API, which talks to the provider stand-in process (signed webhooks)
and the terminal stand-in process — started and configured as tests/payment does.

The card is the in-process stand-in here (the card through pcscd is covered by
test_integration.py); what is under test is the payment hand-off.

`KIOSK_SCREENS_OUT=docs/screens/kiosk/default` also writes the payment screenshots there.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.domain.payment import PaymentMethod
from kiosk.domain.session import PayMethod, Step
from kiosk.ui.adapters import LinkDesk
from kiosk.ui.standins import StandInCard
from tests.payment.conftest import Office, _office, _provider_process, _terminal_process
from tests.ui.test_visits import place, to_card, type_pin

pytestmark = [pytest.mark.kivy, pytest.mark.slow]

PAY = "payment"  # the payment package's own message catalog


@pytest.fixture(scope="module")
def pay_office(tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest) -> Iterator[Office]:
    with _provider_process() as provider, _terminal_process() as terminal:
        yield from _office(provider, terminal, tmp_path_factory.mktemp("office"), request,
                           None)


@pytest.fixture
def cashless(kiosk: Any, pay_office: Office, tmp_path: Path) -> Iterator[Any]:
    from kiosk.payment.client import PaymentClient
    from kiosk.payment.terminal import NexoTcpTerminal
    from kiosk.payment.widget import KioskCashless
    from kiosk.sync import KioskLink
    from tests.sync.helpers import settings

    office = pay_office
    requests.post(f"{office.provider.url}/_control/reset", timeout=5).raise_for_status()
    office.terminal.control(outcome="succeed", delay_s=0.3, disconnect_then="paid")
    token = office.tokens["kiosk-kita"]
    link = KioskLink(settings(tmp_path, office.url, token=token, issue_timeout=3.0))
    link.start()
    c = kiosk.app.controller
    c.desk = LinkDesk(link)
    before = c.session.settings
    c.session.settings = dataclasses.replace(before, cashless=True)
    kiosk.app.payment = KioskCashless(
        PaymentClient(office.url, token, timeout_s=5.0),
        NexoTcpTerminal("127.0.0.1", office.terminal.port, sale_id="kita-01", timeout_s=5.0,
                        recover_s=2.0),
        (PaymentMethod.CODE, PaymentMethod.TERMINAL, PaymentMethod.COUNTER), poll_seconds=0.2)
    kiosk.office = office
    yield kiosk
    c.end_visit()
    kiosk.h.settle()
    kiosk.app.payment = None
    c.session.settings = before
    link.stop()


def pump_until(k: Any, done: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, f"timed out on {k.s.step}: {k.labels()}"
        k.h.pump()
        time.sleep(0.02)


def touch_text(k: Any, msgid: str) -> None:
    """Touch the button whose text is `msgid` in the payment catalog (a real touch)."""
    from kiosk.i18n import translator
    text = translator(k.s.language, PAY)(msgid)
    w = next((w for w in k.h.widgets() if getattr(w, "text", None) == text), None)
    assert w is not None, f"no {text!r} on screen: {k.labels()}"
    k.h.tap_at(*w.to_window(*w.center))


def shoot(k: Any, tmp_path: Path, name: str) -> None:
    path = k.h.screenshot(tmp_path / f"{name}.png", 0.5, colors=96)
    assert path.stat().st_size > 5000
    out = os.environ.get("KIOSK_SCREENS_OUT")
    if out:
        k.h.screenshot(Path(out) / f"{name}.png", 0.5, colors=96)


def to_cashless(k: Any) -> int:
    """A card visit for 住民票の写し (1 copy, 300 yen) up to the payment widget."""
    to_card(k)
    place(k, StandInCard())
    type_pin(k, "1234")
    k.tap("confirm")
    assert k.s.step is Step.PAYMENT
    k.tap("choose_payment", PayMethod.CASHLESS)
    assert k.s.step is Step.CASHLESS, k.s.notice
    t = k.s.ticket
    assert t is not None and not t.offline and t.printed  # issued (and printed) first
    assert t.reference and t.reference.startswith("ticket:")
    pump_until(k, lambda: k.app.payment.flow is not None)
    return int(t.reference.removeprefix("ticket:"))


def show_code(k: Any) -> Any:
    from kiosk.payment.flow import Screen
    touch_text(k, "スマートフォンのQRコード決済")
    flow = k.app.payment.flow
    pump_until(k, lambda: flow.view.screen is Screen.SHOW_CODE)
    k.h.pump(3)
    return flow


def record(k: Any, ticket_id: int) -> dict[str, Any]:
    return k.office.payments_of(ticket_id)


def provider_state(k: Any, provider_id: str) -> str:
    p = k.office.provider
    r = requests.get(f"{p.url}/v1/payments/{provider_id}", timeout=5,
                     headers={"Authorization": f"Bearer {p.api_key}"})
    r.raise_for_status()
    return str(r.json()["status"])


def ticket_text(k: Any) -> str:
    return "\n".join(k.labels())


def test_code_payment_paid_at_the_kiosk(cashless: Any, tmp_path: Path) -> None:
    k = cashless
    ticket_id = to_cashless(k)
    shoot(k, tmp_path, "17-cashless-choose")
    flow = show_code(k)
    # the back-office's amount (from the catalog), the same as the kiosk showed
    assert flow.view.amount_yen == 300 == k.s.fee()
    shoot(k, tmp_path, "18-cashless-code")
    paying = record(k, ticket_id)["payments"][-1]
    assert paying["state"] == "pending" and paying["amount_yen"] == 300
    k.office.provider.scan(paying["provider_id"])  # the resident's phone pays
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.h.pump(2)
    assert k.s.paid
    assert "手数料のお支払いが済みました。" in ticket_text(k)
    shoot(k, tmp_path, "19-ticket-paid")
    after = record(k, ticket_id)
    assert after["paid"] is True and after["payments"][-1]["state"] == "paid"
    assert provider_state(k, paying["provider_id"]) == "completed"


def test_code_declined_the_resident_keeps_the_ticket_and_pays_at_the_counter(
        cashless: Any) -> None:
    k = cashless
    k.office.provider.behave(outcome="decline")
    ticket_id = to_cashless(k)
    number = k.s.ticket.number
    show_code(k)
    paying = record(k, ticket_id)["payments"][-1]
    k.office.provider.scan(paying["provider_id"])
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.h.pump(2)
    assert not k.s.paid and k.s.pay_method is PayMethod.COUNTER
    assert k.s.ticket is not None and k.s.ticket.number == number  # the same ticket
    text = ticket_text(k)
    assert number in text
    assert "お支払いは完了していません。手数料は窓口でお支払いください。" in text
    after = record(k, ticket_id)
    assert after["paid"] is False and after["payments"][-1]["state"] == "failed"


def test_resident_cancels_the_code(cashless: Any) -> None:
    k = cashless
    ticket_id = to_cashless(k)
    show_code(k)
    paying = record(k, ticket_id)["payments"][-1]
    touch_text(k, "とりけす")
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.h.pump(2)
    assert not k.s.paid
    assert "手数料は窓口でお支払いください。" in ticket_text(k)
    after = record(k, ticket_id)
    assert after["payments"][-1]["state"] == "canceled"
    assert provider_state(k, paying["provider_id"]) == "canceled"


def test_terminal_payment_paid(cashless: Any) -> None:
    k = cashless
    ticket_id = to_cashless(k)
    touch_text(k, "カード・電子マネー（決済端末）")
    pump_until(k, lambda: k.s.step is Step.TICKET)
    assert k.s.paid
    after = record(k, ticket_id)
    assert after["paid"] is True and after["payments"][-1]["method"] == "terminal"
    journal = k.office.terminal.journal()
    assert journal and journal[-1]["amount"] == 300 and journal[-1]["status"] == "Success"


def test_timeout_while_the_code_is_shown_cancels_it_the_ticket_stands(cashless: Any) -> None:
    k = cashless
    ticket_id = to_cashless(k)
    show_code(k)
    paying = record(k, ticket_id)["payments"][-1]
    k.clock.offset += k.s.settings.idle_timeout_s + 1  # the resident walked away
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.WELCOME and k.s.ticket is None  # wiped
    pump_until(k, lambda: record(k, ticket_id)["payments"][-1]["state"] == "canceled")
    assert provider_state(k, paying["provider_id"]) == "canceled"
    tickets = k.office.session("staff").get(f"{k.office.url}/api/v1/tickets/{ticket_id}",
                                            timeout=5)
    assert tickets.status_code == 200  # the ticket stands; the counter takes the fee
    end = time.monotonic() + 2.5  # the widget's late "not paid" (after its 2 s linger)
    while time.monotonic() < end:  # must not disturb the next visit
        k.h.pump()
        time.sleep(0.02)
    assert k.s.step is Step.WELCOME
