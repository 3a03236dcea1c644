"""PayPay inside the kiosk app, end to end: real touches on the Kivy app (SDL offscreen),
the ticket issued on a real back-office process configured for PayPay, PayPay's own SDK
talking over HTTP to the PayPay stand-in, whose phone pays or lets the code expire.
The kiosk shows PayPay's code (its QR URL) as the QR; screenshots of it are kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain.payment import PaymentMethod
from kiosk.domain.session import Step
from tests.payment.paypay_support import Office, paypay_office
from tests.ui.test_cashless import (
    cashless_app,
    pump_until,
    shoot,
    show_code,
    ticket_text,
    to_cashless,
)

pytestmark = [pytest.mark.kivy, pytest.mark.slow]


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Office]:
    with paypay_office(tmp_path_factory.mktemp("paypay"), request) as o:
        yield o


@pytest.fixture
def paypay_kiosk(kiosk: Any, office: Office, tmp_path: Path) -> Iterator[Any]:
    from kiosk.payment.client import PaymentClient
    from kiosk.payment.widget import KioskCashless

    office.paypay.control("reset")
    office.paypay.control("behaviour", webhook_url=f"{office.url}/api/v1/payments/webhook")
    with cashless_app(kiosk, office, tmp_path, KioskCashless(
            PaymentClient(office.url, office.tokens["kiosk-kita"], timeout_s=10.0), None,
            (PaymentMethod.CODE, PaymentMethod.COUNTER), poll_seconds=0.2)):
        yield kiosk


def test_paypay_code_on_the_kiosk_paid_by_the_phone(paypay_kiosk: Any, tmp_path: Path) -> None:
    k = paypay_kiosk
    ticket_id = to_cashless(k)
    flow = show_code(k)
    assert flow.view.qr_payload.startswith("https://qr.paypay.ne.jp/")
    assert flow.view.amount_yen == 300 == k.s.fee()
    shoot(k, tmp_path, "paypay-code")
    # What a phone camera reads off the kiosk's screen is PayPay's code, nothing else.
    from PIL import Image
    from pyzbar.pyzbar import decode
    read = decode(Image.open(tmp_path / "paypay-code.png"))
    assert [r.data.decode() for r in read] == [flow.view.qr_payload]
    paying = k.office.payments_of(ticket_id)["payments"][-1]
    assert k.office.paypay.sdk().details(paying["reference"]).amount_yen == 300
    k.office.paypay.phone(paying["reference"], "pay")
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.h.pump(2)
    assert k.s.paid and "手数料のお支払いが済みました。" in ticket_text(k)
    assert k.office.payments_of(ticket_id)["paid"] is True


def test_paypay_code_expires_the_ticket_stands(paypay_kiosk: Any) -> None:
    k = paypay_kiosk
    ticket_id = to_cashless(k)
    number = k.s.ticket.number
    show_code(k)
    paying = k.office.payments_of(ticket_id)["payments"][-1]
    k.office.paypay.phone(paying["reference"], "expire")
    pump_until(k, lambda: k.s.step is Step.TICKET)
    k.h.pump(2)
    assert not k.s.paid and k.s.ticket is not None and k.s.ticket.number == number
    assert "手数料は窓口でお支払いください。" in ticket_text(k)
    assert k.office.payments_of(ticket_id)["payments"][-1]["state"] == "expired"
