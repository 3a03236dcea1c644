"""PayPay end to end: the kiosk's PaymentFlow → a real back-office process → PayPay's
official SDK (`paypayopa`) → the PayPay stand-in over HTTP (hardware.payment.paypay),
whose phone pays, fails or lets the code expire. Each failure case keeps the ticket and
never charges twice; the day-end compares our records with PayPay's payment details."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
import requests

from kiosk.logsetup import RedactionFilter
from kiosk.payment.client import PaymentClient
from kiosk.payment.flow import PaymentFlow, Screen
from kiosk.payment.paypay import split_id
from kiosk.payment.provider import ProviderError
from tests.payment.paypay_support import Office, paypay_office
from tests.payment.steps import showing_code, until


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Office]:
    with paypay_office(tmp_path_factory.mktemp("paypay"), request) as o:
        yield o


@pytest.fixture(autouse=True)
def _fresh(office: Office) -> None:
    office.paypay.control("reset")
    office.paypay.control("behaviour", webhook_url=f"{office.url}/api/v1/payments/webhook")


def kiosk_flow(office: Office, ticket: int) -> PaymentFlow:
    return PaymentFlow(PaymentClient(office.url, office.tokens["kiosk-kita"]), None, ticket,
                       poll_seconds=0.2)


def test_kiosk_shows_paypays_code_and_the_phone_pays(office: Office) -> None:
    ticket = office.ticket()
    flow = kiosk_flow(office, ticket)
    flow.start("code")
    view = showing_code(flow)
    assert view.screen is Screen.SHOW_CODE
    assert view.qr_payload.startswith("https://qr.paypay.ne.jp/"), view.qr_payload
    record = office.payments_of(ticket)
    payment = record["payments"][-1]
    assert payment["amount_yen"] == record["fee_yen"] == 300
    # PayPay was asked for exactly this ticket's fee under our reference.
    details = office.paypay.sdk().details(payment["reference"])
    assert details.amount_yen == 300 and details.state.value == "pending"
    office.paypay.phone(payment["reference"], "pay")
    flow.wait(15)
    assert flow.view.screen is Screen.PAID
    assert office.payments_of(ticket)["paid"] is True
    # The webhook was answered, and its state was read back from PayPay.
    deliveries = until(lambda: requests.get(f"{office.paypay.url}/_control/webhooks",
                                            timeout=5).json()["deliveries"])
    assert deliveries[0]["status"] == 200
    assert office.day_end()["ok"] is True


def test_resident_gives_up_the_code_is_deleted(office: Office) -> None:
    ticket = office.ticket()
    payment = office.start(ticket)
    r = office.session().post(f"{office.url}/api/v1/payments/{payment['id']}/cancel", timeout=30)
    assert r.status_code == 200 and r.json()["state"] == "canceled", r.text
    _code_id, reference = split_id(payment["provider_id"])
    # The code is gone at PayPay: the phone can no longer pay it.
    r = requests.post(f"{office.paypay.url}/_control/codes/{reference}/pay", timeout=5)
    assert r.status_code == 404
    assert office.payments_of(ticket)["paid"] is False
    # The ticket stands: a new attempt can still be paid, once.
    again = office.start(ticket)
    office.paypay.phone(again["reference"], "pay")
    until(lambda: office.payment(again["id"])["state"] == "paid")
    assert [p["state"] for p in office.payments_of(ticket)["payments"]] == ["canceled", "paid"]


def test_expired_code_and_failed_payment(office: Office) -> None:
    ticket = office.ticket()
    first = office.start(ticket)
    office.paypay.phone(first["reference"], "expire")
    until(lambda: office.payment(first["id"])["state"] == "expired")
    second = office.start(ticket)
    office.paypay.phone(second["reference"], "fail")
    until(lambda: office.payment(second["id"])["state"] == "failed")
    record = office.payments_of(ticket)
    assert record["paid"] is False and record["payment_status"] == "failed"


def test_provider_down_then_back(office: Office) -> None:
    ticket = office.ticket()
    office.paypay.control("behaviour", down=True)
    failed = office.start(ticket)
    assert failed["state"] == "failed" and "SERVICE_UNAVAILABLE" in (failed["error"] or "")
    office.paypay.control("behaviour", down=False)
    ok = office.start(ticket)
    assert ok["state"] == "pending"
    office.paypay.phone(ok["reference"], "pay")
    until(lambda: office.payment(ok["id"])["state"] == "paid")
    assert [p["state"] for p in office.payments_of(ticket)["payments"]] == ["failed", "paid"]


def test_timeout_fails_the_attempt_never_charges_twice(office: Office) -> None:
    ticket = office.ticket()
    office.paypay.control("behaviour", delay_s=6.5)   # the adapter waits 5 s
    slow = office.start(ticket)
    assert slow["state"] == "failed" and "unreachable" in (slow["error"] or "")
    office.paypay.control("behaviour", delay_s=0)
    ok = office.start(ticket)
    assert ok["reference"] != slow["reference"]   # a new merchantPaymentId per attempt
    office.paypay.phone(ok["reference"], "pay")
    until(lambda: office.payment(ok["id"])["state"] == "paid")
    time.sleep(1)  # the slow create has landed at PayPay by now: unpaid, never shown
    report = office.day_end()
    assert not [m for m in report["mismatches"] if m["reference"] == slow["reference"]]


def test_amount_mismatch_is_never_paid_and_is_flagged(office: Office) -> None:
    ticket = office.ticket()
    payment = office.start(ticket)
    office.paypay.phone(payment["reference"], "pay", amount=30)
    until(lambda: office.payment(payment["id"])["state"] == "failed")
    assert "30 yen" in office.payment(payment["id"])["error"]
    assert office.payments_of(ticket)["paid"] is False
    flagged = [m for m in office.day_end()["mismatches"] if m["reference"] == payment["reference"]]
    assert flagged and flagged[0]["problem"].startswith("state differs: here failed")


def test_duplicate_and_forged_webhooks(office: Office) -> None:
    ticket = office.ticket()
    payment = office.start(ticket)
    # Forged: claims COMPLETED, but PayPay says CREATED — nothing changes.
    forged = {"notification_type": "Transaction", "merchant_order_id": payment["reference"],
              "state": "COMPLETED", "order_amount": "300"}
    r = requests.post(f"{office.url}/api/v1/payments/webhook", json=forged, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "pending"
    r = requests.post(f"{office.url}/api/v1/payments/webhook", json={"x": 1}, timeout=10)
    assert r.status_code == 400
    office.paypay.control("behaviour", webhook_copies=3)
    office.paypay.phone(payment["reference"], "pay")
    until(lambda: len(requests.get(f"{office.paypay.url}/_control/webhooks",
                                   timeout=5).json()["deliveries"]) == 3)
    assert office.payment(payment["id"])["state"] == "paid"
    outcomes = [e["outcome"] for e in office.events(payment["id"]) if e["to"] == "paid"]
    assert outcomes.count("applied") == 1 and "repeat" in outcomes


def test_sdk_signature_checked_exactly(office: Office) -> None:
    good = office.paypay.sdk()
    with pytest.raises(ProviderError, match="UNAUTHORIZED"):
        office.paypay.sdk(api_secret="not-the-secret").details("nothing")
    with pytest.raises(ProviderError, match="OPA_CLIENT_NOT_FOUND"):
        office.paypay.sdk(merchant_id="M0").details("nothing")
    with pytest.raises(ProviderError, match="DYNAMIC_QR_PAYMENT_NOT_FOUND"):
        good.details("nothing")
    # A replayed request (same nonce) and a changed body are refused.
    client = good.client
    header = client.auth_header(office.paypay.api_key, office.paypay.api_secret, "GET",
                                "/v2/codes/payments/x")
    h = {"Authorization": header, "X-ASSUME-MERCHANT": office.paypay.merchant_id}
    first = requests.get(f"{office.paypay.url}/v2/codes/payments/x", headers=h, timeout=5)
    again = requests.get(f"{office.paypay.url}/v2/codes/payments/x", headers=h, timeout=5)
    assert first.json()["resultInfo"]["code"] == "DYNAMIC_QR_PAYMENT_NOT_FOUND"
    assert again.status_code == 401 and again.json()["resultInfo"]["code"] == "UNAUTHORIZED"
    body = '{"merchantPaymentId": "a"}'
    ctype = "application/json;charset=UTF-8"
    signed = client.auth_header(office.paypay.api_key, office.paypay.api_secret, "POST",
                                "/v2/codes", ctype, body)
    r = requests.post(f"{office.paypay.url}/v2/codes", data=body.replace("a", "b"),
                      headers={"Authorization": signed, "Content-Type": ctype,
                               "X-ASSUME-MERCHANT": office.paypay.merchant_id}, timeout=5)
    assert r.status_code == 401


def test_credentials_never_logged(office: Office, caplog: pytest.LogCaptureFixture) -> None:
    paypay = office.paypay
    record = logging.LogRecord("x", logging.WARNING, "", 0, "sent %s", (
        office.paypay.sdk().client.auth_header(paypay.api_key, paypay.api_secret, "GET", "/"),),
        None)
    RedactionFilter().filter(record)
    assert paypay.api_key not in record.getMessage()
    assert "OPA-Auth:[REDACTED]" in record.getMessage()
    assert paypay.api_key not in repr(paypay.sdk())
    text = office.log.read_text()
    for secret in (paypay.api_key, paypay.api_secret, paypay.merchant_id):
        assert secret not in text


def test_cancel_loses_the_race_to_the_phone(office: Office) -> None:
    """The resident pays just as they touch "cancel": PayPay refuses to delete a paid
    code, and the payment is recorded paid — never refunded, never charged again."""
    ticket = office.ticket()
    payment = office.start(ticket)
    assert abs(payment["expires_at_epoch"] - (time.time() + 60)) < 10  # our code_expiry
    office.paypay.control("behaviour", webhook_url="")   # the webhook is late
    office.paypay.phone(payment["reference"], "pay")
    r = office.session().post(f"{office.url}/api/v1/payments/{payment['id']}/cancel", timeout=30)
    assert r.status_code == 200 and r.json()["state"] == "paid", r.text
    r = office.session().post(f"{office.url}/api/v1/tickets/{ticket}/payments",
                          json={"method": "code"}, timeout=30)
    assert r.status_code == 409 and r.json()["error"] == "already_paid", r.text


def test_day_end_lists_a_payment_paid_at_paypay_but_pending_here(office: Office) -> None:
    """The webhook is lost and no kiosk asks any more: the day-end shows PayPay's
    COMPLETED against our pending, and nothing is corrected silently."""
    ticket = office.ticket()
    payment = office.start(ticket)
    office.paypay.control("behaviour", webhook_url="")
    office.paypay.phone(payment["reference"], "pay")
    report = office.day_end()
    assert report["provider_checked"] is True and report["ok"] is False
    flagged = [m for m in report["mismatches"] if m["reference"] == payment["reference"]]
    assert flagged[0]["problem"] == "state differs: here pending, provider paid"
    assert flagged[0]["provider"] == {"state": "paid", "amount_yen": 300}
    r = requests.post(f"{office.url}/api/v1/payments/webhook", timeout=10,
                      json={"merchant_order_id": "kita-999-deadbeef", "state": "COMPLETED"})
    assert r.status_code == 404   # unknown here: PayPay retries later
    # Reading the payment asks PayPay: brought up to date, and the day-end then agrees.
    assert office.payment(payment["id"])["state"] == "paid"
    assert not [m for m in office.day_end()["mismatches"]
                if m["reference"] == payment["reference"]]


def test_webhook_only_from_listed_senders(tmp_path_factory: pytest.TempPathFactory,
                                          request: pytest.FixtureRequest) -> None:
    """[payment] webhook_sources: a notification from elsewhere is refused unread."""
    with paypay_office(tmp_path_factory.mktemp("listed"), request,
                       webhook_sources=["192.0.2.0/24"]) as office:
        payment = office.start(office.ticket())
        r = requests.post(f"{office.url}/api/v1/payments/webhook", timeout=10,
                          json={"merchant_order_id": payment["reference"]})
        assert r.status_code == 403
        office.paypay.phone(payment["reference"], "pay")  # its webhook is refused too
        until(lambda: requests.get(f"{office.paypay.url}/_control/webhooks",
                                   timeout=5).json()["deliveries"])
        # …and the payment is still brought up to date by reading it from PayPay.
        until(lambda: office.payment(payment["id"])["state"] == "paid")


def test_refund_in_paypays_panel_is_flagged_never_applied(office: Office) -> None:
    ticket = office.ticket()
    payment = office.start(ticket)
    office.paypay.phone(payment["reference"], "pay")
    until(lambda: office.payment(payment["id"])["state"] == "paid")
    office.paypay.phone(payment["reference"], "refund")
    flagged = [m for m in office.day_end()["mismatches"]
               if m["reference"] == payment["reference"]]
    assert flagged[0]["problem"] == "state differs: here paid, provider canceled"
    assert office.payments_of(ticket)["paid"] is True   # staff decide; nothing silent
