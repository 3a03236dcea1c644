"""A terminal payment is paid only on the terminal's word: the kiosk that started it passes
on the terminal's answer with the terminal's HMAC (its key registered with the
back-office); anything else — a made-up result, a wrong key, another payment's or
amount's proof, another kiosk, staff, a replay — is refused. "Paid at the counter" is a
staff action of the ticket's ward, with the account in the trail. Through the real
back-office process and the terminal stand-in (test_terminal_proof_pg.py: PostgreSQL)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

import requests
from sqlalchemy import create_engine, text

from kiosk.backoffice.db import normalize_url
from kiosk.domain.payment import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TerminalReceipt,
    sign_webhook,
)
from kiosk.payment.client import BackofficeError, PaymentClient
from kiosk.payment.flow import PaymentFlow, Screen
from kiosk.payment.terminal import NexoTcpTerminal, TerminalResult
from tests.payment.conftest import Office

API = "/api/v1"


def _start(office: Office, ticket: int, who: str = "kiosk-kita") -> dict[str, Any]:
    r = office.session(who).post(f"{office.url}{API}/tickets/{ticket}/payments",
                                 json={"method": "terminal"}, timeout=5)
    assert r.status_code == 201, r.text
    payment: dict[str, Any] = r.json()
    return payment


def _post(office: Office, payment_id: int, body: dict[str, Any],
          session: requests.Session | None = None) -> requests.Response:
    s = session or office.session()
    return s.post(f"{office.url}{API}/payments/{payment_id}/terminal-result", json=body,
                  timeout=5)


def _signed(office: Office, payment: dict[str, Any], *, key: str | None = None,
            amount: int | None = None, reference: str | None = None,
            terminal_id: str | None = None, tx: str | None = None) -> dict[str, Any]:
    """A "paid" answer with a proof made here (as only the key's holder could)."""
    receipt = TerminalReceipt(
        terminal_id or office.terminal.terminal_id, reference or payment["reference"],
        "Success", payment["amount_yen"] if amount is None else amount,
        tx or "poi_" + secrets.token_hex(8), "2026-12-04T10:00:00.000+00:00")
    return {"state": "paid", "amount_yen": receipt.amount_yen,
            "transaction_id": receipt.transaction_id, "timestamp": receipt.timestamp,
            "terminal_id": receipt.terminal_id,
            "mac": receipt.sign(bytes.fromhex(key or office.terminal.key))}


def _body(result: TerminalResult) -> dict[str, Any]:
    """What the kiosk's flow posts: the terminal's answer, proof untouched."""
    return {"state": result.state.value, "amount_yen": result.amount_yen,
            "transaction_id": result.transaction_id, "timestamp": result.timestamp,
            "error": result.error, "terminal_id": result.terminal_id, "mac": result.mac}


def _pay_at_terminal(office: Office, payment: dict[str, Any]) -> TerminalResult:
    terminal = NexoTcpTerminal("127.0.0.1", office.terminal.port, sale_id="kiosk-kita",
                               timeout_s=5, recover_s=3)
    return terminal.pay(payment["terminal_service_id"], f"P{payment['id']}",
                        payment["amount_yen"], threading.Event())


def _state(office: Office, payment_id: int) -> str:
    r = office.session("staff").get(f"{office.url}{API}/payments/{payment_id}", timeout=5)
    return str(r.json()["state"])


def _admin_create(office: Office, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = office.session("admin").post(f"{office.url}{API}/admin/{path}", json=body, timeout=10)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _device(office: Office, ward: str) -> str:
    """A further kiosk of `ward` (its own token, no terminal of its own)."""
    name = f"kiosk-{ward}-{secrets.token_hex(3)}"
    return str(_admin_create(office, "devices", {"name": name, "kind": "kiosk",
                                                 "ward": ward})["token"])


def _staff_of(office: Office, ward: str) -> str:
    name = f"{ward}-clerk-{secrets.token_hex(3)}"
    password = "pw-" + secrets.token_urlsafe(16)
    _admin_create(office, "staff", {"username": name, "role": "staff", "ward": ward,
                                    "password": password})
    r = requests.post(f"{office.url}{API}/auth/login", timeout=10,
                      json={"username": name, "password": password})
    r.raise_for_status()
    return str(r.json()["token"])


def _bearer(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def test_made_up_paid_without_proof_is_refused(office: Office) -> None:
    payment = _start(office, office.tickets[0])
    r = _post(office, payment["id"], {"state": "paid", "amount_yen": payment["amount_yen"],
                                      "transaction_id": "poi_forged"})
    assert r.status_code == 403 and r.json()["error"] == "bad_proof", r.text
    assert _state(office, payment["id"]) == "pending"
    trail = office.session("staff").get(f"{office.url}{API}/payments/{payment['id']}/events",
                                        timeout=5).json()
    assert trail[-1]["outcome"] == "refused" and "proof" in trail[-1]["data"]["reason"]
    # A proof's field of garbage, too.
    r = _post(office, payment["id"], {**_signed(office, payment), "mac": "00" * 32})
    assert r.status_code == 403 and _state(office, payment["id"]) == "pending"


def test_proof_with_wrong_key_amount_sale_or_terminal_is_refused(office: Office) -> None:
    payment = _start(office, office.tickets[0])
    other = _start(office, office.tickets[1])
    forged = [
        _signed(office, payment, key=secrets.token_hex(32)),          # not the terminal's key
        {**_signed(office, payment, amount=1), "amount_yen": payment["amount_yen"]},
        _signed(office, payment, reference=other["reference"]),        # another payment's
        _signed(office, payment, terminal_id="T-999"),                 # another terminal
    ]
    for body in forged:
        r = _post(office, payment["id"], body)
        assert r.status_code == 403 and r.json()["error"] == "bad_proof", (body, r.text)
    assert _state(office, payment["id"]) == "pending"
    # The terminal truly authorised another amount: a proof of that is no payment of the
    # fee either; the record fails and staff see why.
    r = _post(office, payment["id"], _signed(office, payment, amount=1))
    assert r.status_code == 200 and r.json()["state"] == "failed"
    assert "fee is" in r.json()["error"]


def test_only_the_kiosk_that_started_it(office: Office) -> None:
    payment = _start(office, office.tickets[0])
    same_ward = _bearer(_device(office, "kita"))
    for session in (same_ward, office.session("kiosk-naka"), office.session("display-kita"),
                    office.session("staff"), office.session("boss"), office.session("admin")):
        r = _post(office, payment["id"], _signed(office, payment), session)
        assert r.status_code == 403, r.text
    assert _state(office, payment["id"]) == "pending"
    r = requests.post(f"{office.url}{API}/payments/{payment['id']}/terminal-result",
                      json=_signed(office, payment), timeout=5)
    assert r.status_code == 401
    # Staff do not start terminal payments; a kiosk without a terminal cannot either.
    r = office.session("staff").post(f"{office.url}{API}/tickets/{office.tickets[1]}/payments",
                                     json={"method": "terminal"}, timeout=5)
    assert r.status_code == 403
    r = same_ward.post(f"{office.url}{API}/tickets/{office.tickets[1]}/payments",
                       json={"method": "terminal"}, timeout=5)
    assert r.status_code == 409 and r.json()["error"] == "no_terminal"
    # The rightful kiosk with the terminal's proof: paid.
    assert _post(office, payment["id"], _signed(office, payment)).json()["state"] == "paid"


def test_real_terminal_answer_pays_once_and_a_replay_is_refused(office: Office) -> None:
    payment = _start(office, office.tickets[0])
    result = _pay_at_terminal(office, payment)
    assert result.mac and result.terminal_id == office.terminal.terminal_id
    body = _body(result)
    r = _post(office, payment["id"], body)
    assert r.status_code == 200 and r.json()["state"] == "paid", r.text
    assert r.json()["external_ref"] == result.transaction_id
    r = _post(office, payment["id"], body)   # the same answer again
    assert r.status_code == 409 and r.json()["error"] == "replay"
    # The same answer for another payment: its proof names the first one.
    second = _start(office, office.tickets[1])
    r = _post(office, second["id"], {**body, "amount_yen": second["amount_yen"]})
    assert r.status_code == 403 and _state(office, second["id"]) == "pending"
    # Even a proof made with the key cannot reuse the transaction id.
    r = _post(office, second["id"], _signed(office, second, tx=result.transaction_id))
    assert r.status_code == 409 and _state(office, second["id"]) == "pending"
    # Neither key nor proof reaches the server's log.
    log = office.log.read_text(errors="replace")
    assert office.terminal.key not in log and result.mac not in log


def test_unsigned_failure_moves_no_money_but_a_bad_proof_on_it_is_refused(
        office: Office) -> None:
    payment = _start(office, office.tickets[0])
    r = _post(office, payment["id"], {**_signed(office, payment), "state": "failed",
                                      "amount_yen": 0})
    assert r.status_code == 403  # a proof over "Success" does not fit a failure
    r = _post(office, payment["id"], {"state": "failed", "error": "Unreachable"})
    assert r.status_code == 200 and r.json()["state"] == "failed"


def test_paid_at_counter_is_staff_of_the_ward_and_audited(office: Office) -> None:
    ticket = office.tickets[0]
    url = f"{office.url}{API}/tickets/{ticket}/paid-at-counter"
    naka_staff = _bearer(_staff_of(office, "naka"))
    for session in (office.session("kiosk-kita"), office.session("kiosk-naka"),
                    office.session("display-kita"), naka_staff):
        r = session.post(url, json={"reference": "R-1"}, timeout=5)
        assert r.status_code == 403, r.text
    # The payment-level route also refuses kiosks.
    payment = _start(office, office.tickets[1])
    r = office.session().post(f"{office.url}{API}/payments/{payment['id']}/paid-at-counter",
                              json={"reference": "R-2"}, timeout=5)
    assert r.status_code == 403 and _state(office, payment["id"]) == "pending"
    assert not office.payments_of(ticket)["paid"]

    # the reference is stored: the back-office's 個人番号 guard holds here too
    r = office.session("staff").post(url, json={"reference": "1234 5678 9018"}, timeout=5)
    assert r.status_code == 422 and r.json()["error"] == "my_number_refused", r.text
    assert "9018" not in r.text and not office.payments_of(ticket)["paid"]
    r = office.session("staff").post(url, json={"reference": "R-0042"}, timeout=5)
    assert r.status_code == 200 and r.json()["state"] == "paid", r.text
    assert r.json()["method"] == "counter" and r.json()["external_ref"] == "R-0042"
    r = office.session("staff").post(url, json={}, timeout=5)
    assert r.status_code == 409 and r.json()["error"] == "already_paid"
    pid = office.payments_of(ticket)["payments"][-1]["id"]
    trail = office.session("staff").get(f"{office.url}{API}/payments/{pid}/events",
                                        timeout=5).json()
    assert [(e["source"], e["actor"], e["to"]) for e in trail if e["to"] == "paid"] == [
        ("staff", "staff", "paid")]
    db = create_engine(normalize_url(office.db_url))
    try:
        with db.connect() as conn:
            paid = conn.execute(text("SELECT actor, data FROM ticket_events WHERE ticket_id = "
                                     ":t AND type = 'ticket.paid'"), {"t": ticket}).all()
    finally:
        db.dispose()
    assert [row.actor for row in paid] == ["staff"]
    assert json.loads(paid[0].data)["data"]["method"] == "counter"

    # A terminal answer lost for good: staff settle that payment with the slip.
    r = office.session("staff").post(f"{office.url}{API}/tickets/{office.tickets[1]}/"
                                     "paid-at-counter", json={"reference": "slip 7"}, timeout=5)
    assert r.status_code == 200 and r.json()["id"] == payment["id"]
    assert r.json()["method"] == "terminal" and r.json()["state"] == "paid"


def test_terminal_registration_is_an_admin_matter_of_the_ward(office: Office) -> None:
    url = f"{office.url}{API}/admin/payment-terminals"
    name = f"kiosk-kita-{secrets.token_hex(3)}"
    _admin_create(office, "devices", {"name": name, "kind": "kiosk", "ward": "kita"})
    for who in ("kiosk-kita", "display-kita", "staff", "boss"):
        r = office.session(who).post(url, json={"device": name, "terminal_id": "T-x"},
                                     timeout=5)
        assert r.status_code == 403, (who, r.text)
    ward_admin = f"naka-admin-{secrets.token_hex(3)}"
    password = "pw-" + secrets.token_urlsafe(16)
    _admin_create(office, "staff", {"username": ward_admin, "role": "admin", "ward": "naka",
                                    "password": password})
    token = requests.post(f"{office.url}{API}/auth/login", timeout=10, json={
        "username": ward_admin, "password": password}).json()["token"]
    r = _bearer(token).post(url, json={"device": name, "terminal_id": "T-x"}, timeout=5)
    assert r.status_code == 403  # a kita kiosk is not naka's to bind
    created = _admin_create(office, "payment-terminals", {"device": name,
                                                          "terminal_id": "T-x"})
    assert len(created["key"]) == 64  # generated, shown once
    listed = office.session("admin").get(url, timeout=5).json()
    assert {t["terminal_id"] for t in listed} >= {"T-x", office.terminal.terminal_id}
    assert created["key"] not in json.dumps(listed)
    # Creating never overwrites: not the same terminal id, not a second one for the kiosk.
    for body in ({"device": "kiosk-kita-1", "terminal_id": "T-x"},
                 {"device": name, "terminal_id": "T-y"}):
        r = office.session("admin").post(url, json=body, timeout=5)
        assert r.status_code == 409, r.text
    assert _bearer(token).get(url, timeout=5).json() == []  # naka has none
    assert requests.get(url, timeout=5).status_code == 401
    assert _bearer(token).delete(f"{url}/T-x", timeout=5).status_code == 403
    assert office.session("admin").delete(f"{url}/T-x", timeout=5).status_code == 204
    assert "T-x" not in {t["terminal_id"] for t in
                         office.session("admin").get(url, timeout=5).json()}


def test_webhook_needs_the_providers_signature(office: Office) -> None:
    payment = office.session().post(f"{office.url}{API}/tickets/{office.tickets[0]}/payments",
                                    json={"method": "code"}, timeout=5).json()
    event = json.dumps({"payment": {
        "id": payment["provider_id"], "merchant_payment_id": payment["reference"],
        "amount": payment["amount_yen"], "currency": "JPY", "status": "completed",
        "sequence": 99, "created_at": time.time(), "expires_at": time.time() + 60}}).encode()
    now, nonce = int(time.time()), "n-" + secrets.token_hex(6)
    for headers in ({}, {TIMESTAMP_HEADER: str(now), NONCE_HEADER: nonce,
                         SIGNATURE_HEADER: sign_webhook(b"not-the-secret", now, nonce, event)}):
        r = requests.post(f"{office.url}{API}/payments/webhook", data=event, headers=headers,
                          timeout=5)
        assert r.status_code == 401 and r.json()["error"] == "bad_signature", r.text
    assert _state(office, payment["id"]) != "paid"


def test_kiosk_retry_after_a_lost_reply_reads_the_payment(office: Office) -> None:
    # The terminal's answer reached the back-office but the reply was lost: the kiosk's
    # retry is refused as a replay, and the kiosk then reads the payment — paid.
    client = PaymentClient(office.url, office.tokens["kiosk-kita"])
    real = client.terminal_result
    posts: list[dict[str, Any]] = []

    def reply_lost_once(payment_id: int, body: dict[str, Any]) -> dict[str, Any]:
        posts.append(body)
        answer = real(payment_id, body)
        if len(posts) == 1:
            raise BackofficeError("back-office unreachable: ReadTimeout")
        return answer

    client.terminal_result = reply_lost_once  # type: ignore[method-assign]
    terminal = NexoTcpTerminal("127.0.0.1", office.terminal.port, sale_id="kiosk-kita",
                               timeout_s=5, recover_s=3)
    flow = PaymentFlow(client, terminal, office.tickets[0], poll_seconds=0.2)
    flow.start("terminal")
    assert flow.wait(15).screen is Screen.PAID
    assert len(posts) == 2 and posts[0] == posts[1] and posts[0]["mac"]
    assert office.payments_of(office.tickets[0])["paid"]
