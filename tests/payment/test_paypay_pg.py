"""PayPay with the back-office on PostgreSQL (row locks): triplicated webhooks racing
kiosk polls on one payment apply "paid" once; a cancel racing the phone never both."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from tests.payment.paypay_support import Office, paypay_office
from tests.payment.steps import until

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Office]:
    with paypay_office(tmp_path_factory.mktemp("paypay-pg"), request, "postgres") as o:
        yield o


def test_duplicate_webhooks_racing_polls_pay_once(office: Office) -> None:
    ticket = office.ticket()
    payment = office.start(ticket)
    office.paypay.control("behaviour", webhook_copies=3)
    kiosk = office.session()

    def poll() -> None:
        for _ in range(10):
            kiosk.get(f"{office.url}/api/v1/payments/{payment['id']}",
                      timeout=10).raise_for_status()

    pollers = [threading.Thread(target=poll) for _ in range(4)]
    for t in pollers:
        t.start()
    office.paypay.phone(payment["reference"], "pay")
    for t in pollers:
        t.join(30)
    until(lambda: len(requests.get(f"{office.paypay.url}/_control/webhooks",
                                   timeout=5).json()["deliveries"]) == 3)
    assert office.payment(payment["id"])["state"] == "paid"
    applied = [e for e in office.events(payment["id"])
               if e["to"] == "paid" and e["outcome"] == "applied"]
    assert len(applied) == 1
    assert office.payments_of(ticket)["paid"] is True


def test_cancel_racing_the_phone_ends_in_one_state(office: Office) -> None:
    ticket = office.ticket()
    payment = office.start(ticket)
    answers: list[int] = []
    cancel = threading.Thread(target=lambda: answers.append(office.session().post(
        f"{office.url}/api/v1/payments/{payment['id']}/cancel", timeout=30).status_code))
    cancel.start()
    phone = requests.post(f"{office.paypay.url}/_control/codes/{payment['reference']}/pay",
                          timeout=5)
    cancel.join(30)
    assert answers == [200]
    final = office.payment(payment["id"])["state"]
    # Whichever came first wins at PayPay and here alike: paid only if the phone paid.
    assert final == ("paid" if phone.status_code == 200 else "canceled")
    assert office.payments_of(ticket)["paid"] is (final == "paid")
