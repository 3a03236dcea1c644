"""Every payment path, end to end: the kiosk's PaymentFlow → a real back-office process →
the provider / terminal stand-in processes. Each ends consistent on both sides."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import requests
from sqlalchemy import create_engine, text

from kiosk.backoffice.db import normalize_url
from kiosk.domain.payment import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_webhook
from kiosk.payment.flow import FlowView, Screen
from tests.payment.conftest import Office, issue_ticket
from tests.payment.steps import (
    consistent,
    flow_for,
    provider_id,
    scan_code,
    showing_code,
    until,
)


def test_code_paid_by_webhook(office: Office) -> None:
    ticket = office.tickets[0]
    views: list[FlowView] = []
    flow = scan_code(office, ticket, views=views)
    assert views[1].screen is Screen.SHOW_CODE and views[1].amount_yen == 600
    assert flow.wait(10).screen is Screen.PAID
    consistent(office, ticket, "paid", "completed")
    assert [v.screen for v in views][:2] == [Screen.STARTING, Screen.SHOW_CODE]
    hooks = office.provider.deliveries()
    assert hooks and all(h["status"] == 200 for h in hooks)
    # The fee came from the server: 2 copies of 住民票 = 600 yen, whatever the kiosk thinks.
    assert office.payments_of(ticket)["payments"][-1]["amount_yen"] == 600


def test_code_declined_keeps_ticket_and_allows_retry(office: Office) -> None:
    ticket = office.tickets[1]
    office.provider.behave(outcome="decline")
    flow = scan_code(office, ticket)
    assert flow.wait(10).screen is Screen.FAILED
    consistent(office, ticket, "failed", "failed")
    # The ticket stands; the resident may pay another way (here: at the counter).
    flow.start("counter")
    assert flow.wait(10).screen is Screen.AT_COUNTER
    staff = office.session("staff")
    pid = office.payments_of(ticket)["payments"][-1]["id"]
    r = staff.post(f"{office.url}/api/v1/payments/{pid}/paid-at-counter",
                   json={"reference": "slip-1"}, timeout=5)
    assert r.status_code == 200 and r.json()["state"] == "paid"
    assert office.payments_of(ticket)["paid"] is True


def test_webhooks_lost_poll_fallback_then_duplicate_and_out_of_order(office: Office) -> None:
    # No webhook at all: the kiosk's polling makes the back-office ask the provider.
    office.provider.behave(webhooks="none")
    flow = scan_code(office, office.tickets[0])
    assert flow.wait(10).screen is Screen.PAID
    consistent(office, office.tickets[0], "paid", "completed")
    # Duplicate deliveries (fresh signatures) and a stale "created" after the final one.
    for mode, ticket in (("duplicate", office.tickets[1]), ("out_of_order", office.tickets[2])):
        office.provider.behave(webhooks=mode)
        flow = scan_code(office, ticket)
        assert flow.wait(10).screen is Screen.PAID
        consistent(office, ticket, "paid", "completed")
    hooks = office.provider.deliveries()
    assert sum(1 for h in hooks if h["mode"] == "duplicate") == 2
    assert all(h["status"] == 200 for h in hooks)
    pid = office.payments_of(office.tickets[2])["payments"][-1]["id"]
    trail = office.session("staff").get(f"{office.url}/api/v1/payments/{pid}/events",
                                        timeout=5).json()
    assert [e["outcome"] for e in trail if e["source"] == "webhook"][-1] in ("stale", "refused")
    assert [e["to"] for e in trail if e["outcome"] == "applied"] == ["created", "pending", "paid"]


def test_webhook_before_the_kiosk_polls(office: Office) -> None:
    # The kiosk polls slowly; the webhook lands first and the kiosk's next read sees it.
    ticket = office.tickets[0]
    flow = scan_code(office, ticket, poll_seconds=3.0)
    until(lambda: office.payments_of(ticket)["payments"][-1]["state"] == "paid", 5)
    assert flow.view.screen is Screen.SHOW_CODE  # the kiosk has not looked yet
    assert flow.wait(10).screen is Screen.PAID
    consistent(office, ticket, "paid", "completed")


def test_webhook_before_our_own_record_knows_the_provider_id(office: Office) -> None:
    # The resident pays the instant the code exists: the webhook can arrive before the
    # back-office has stored the provider's id; it is matched by our reference instead.
    office.provider.behave(auto_scan_after_s=0.0, create_delay_s=1.0)
    ticket = office.tickets[0]
    flow = flow_for(office, ticket)
    flow.start("code")
    assert flow.wait(10).screen is Screen.PAID
    consistent(office, ticket, "paid", "completed")
    until(lambda: office.provider.deliveries())
    assert all(h["status"] == 200 for h in office.provider.deliveries())
    pid = office.payments_of(ticket)["payments"][-1]["id"]
    trail = office.session("staff").get(f"{office.url}/api/v1/payments/{pid}/events",
                                        timeout=5).json()
    # The webhook applied "paid" first; the late create answer was a repeat.
    assert [(e["source"], e["outcome"]) for e in trail if e["to"] == "paid"][:2] == [
        ("webhook", "applied"), ("provider", "repeat")]


def test_bad_signature_and_replay_are_refused(office: Office) -> None:
    office.provider.behave(webhooks="bad_signature")
    ticket = office.tickets[0]
    flow = scan_code(office, ticket, poll_seconds=30)  # only the webhook could change it
    until(lambda: office.provider.deliveries())
    assert office.provider.deliveries()[0]["status"] == 401
    # The back-office did not believe the forged news…
    record = office.payments_of(ticket)["payments"][-1]
    assert record["state"] == "pending"
    flow.cancel()  # …and the real state (paid at the provider) wins the cancel race.
    assert flow.wait(10).screen is Screen.PAID
    consistent(office, ticket, "paid", "completed")

    # A replayed delivery (same bytes, same nonce) is refused; so is a stale timestamp.
    office.provider.behave(webhooks="replay")
    ticket = office.tickets[1]
    flow = scan_code(office, ticket)
    assert flow.wait(10).screen is Screen.PAID
    replays = until(lambda: [h for h in office.provider.deliveries() if h["mode"] == "replay"
                              ] if len([h for h in office.provider.deliveries()
                                        if h["mode"] == "replay"]) == 2 else None)
    assert sorted(h["status"] for h in replays) == [200, 409]
    body = b'{"payment": {}}'
    old = int(time.time()) - 3600
    r = requests.post(f"{office.url}/api/v1/payments/webhook", data=body, timeout=5, headers={
        TIMESTAMP_HEADER: str(old), NONCE_HEADER: "n-0123456789",
        SIGNATURE_HEADER: sign_webhook(office.provider.secret.encode(), old, "n-0123456789",
                                       body)})
    assert r.status_code == 401 and "timestamp" in r.json()["message"]


def test_resident_cancels_code(office: Office) -> None:
    ticket = office.tickets[0]
    flow = flow_for(office, ticket)
    flow.start("code")
    showing_code(flow)
    flow.cancel()
    assert flow.wait(10).screen is Screen.CANCELED
    consistent(office, ticket, "canceled", "canceled")
    # Scanning the canceled code now changes nothing anywhere.
    office.provider.scan(provider_id(office, ticket))
    consistent(office, ticket, "canceled", "canceled")


def test_code_times_out_and_expires(office: Office) -> None:
    office.provider.behave(outcome="timeout", expiry_s=1.0)
    ticket = office.tickets[0]
    flow = scan_code(office, ticket)   # the app never confirms
    assert flow.wait(10).screen is Screen.EXPIRED
    consistent(office, ticket, "expired", "expired")


def test_terminal_paths(office: Office) -> None:
    t = office.terminal
    cases = [({"outcome": "succeed", "delay_s": 0.1}, Screen.PAID, "paid"),
             ({"outcome": "decline", "delay_s": 0.1}, Screen.FAILED, "failed"),
             ({"outcome": "timeout"}, Screen.FAILED, "failed"),
             ({"outcome": "disconnect", "delay_s": 0.2, "disconnect_then": "paid"},
              Screen.PAID, "paid")]
    for ticket, (behaviour, screen, state) in zip(office.tickets, cases, strict=True):
        t.control(**behaviour)
        flow = flow_for(office, ticket)
        flow.start("terminal")
        assert flow.wait(15).screen is screen, behaviour
        consistent(office, ticket, state, None)
    journal = {j["sale_transaction_id"]: j for j in t.journal()}
    for ticket in office.tickets:
        p = office.payments_of(ticket)["payments"][-1]
        j = journal[f"P{p['id']}"]
        assert (j["status"] == "Success") == (p["state"] == "paid")
        if p["state"] == "paid":
            assert p["external_ref"] == j["poi_transaction_id"] and j["amount"] == p["amount_yen"]


def test_terminal_result_unknown_is_settled_at_the_counter(office: Office) -> None:
    # The kiosk lost the terminal's answer for good (see test_devices): it reports
    # "pending"; the record stays open, the counter sees it and settles it with the slip.
    ticket = office.tickets[0]
    kiosk = office.session()
    p = kiosk.post(f"{office.url}/api/v1/tickets/{ticket}/payments",
                   json={"method": "terminal"}, timeout=5).json()
    r = kiosk.post(f"{office.url}/api/v1/payments/{p['id']}/terminal-result", timeout=5,
                   json={"state": "pending", "error": "Unknown after Disconnected"})
    assert r.json()["state"] == "pending" and "Unknown" in r.json()["error"]
    seen = office.payments_of(ticket)
    assert seen["payment_status"] == "pending" and not seen["paid"]
    r = office.session("staff").post(f"{office.url}/api/v1/payments/{p['id']}/paid-at-counter",
                                     json={"reference": "slip 0042"}, timeout=5)
    assert r.json()["state"] == "paid" and r.json()["external_ref"] == "slip 0042"
    assert office.payments_of(ticket)["payment_status"] == "paid"
    # The kiosk's late "failed" cannot undo it.
    r = kiosk.post(f"{office.url}/api/v1/payments/{p['id']}/terminal-result", timeout=5,
                   json={"state": "failed", "error": "Refusal"})
    assert r.json()["state"] == "paid"


def test_terminal_resident_cancels(office: Office) -> None:
    office.terminal.control(outcome="timeout")
    ticket = office.tickets[0]
    flow = flow_for(office, ticket)
    flow.start("terminal")
    until(lambda: flow.view.screen is Screen.FOLLOW_TERMINAL)
    flow.cancel()
    assert flow.wait(10).screen is Screen.CANCELED
    consistent(office, ticket, "canceled", None)


def test_ward_and_role_checks(office: Office) -> None:
    other = office.session("kiosk-naka")
    r = other.post(f"{office.url}/api/v1/tickets/{office.tickets[0]}/payments",
                   json={"method": "code"}, timeout=5)
    assert r.status_code == 403
    r = requests.post(f"{office.url}/api/v1/tickets/{office.tickets[0]}/payments",
                      json={"method": "code"}, timeout=5)
    assert r.status_code == 401
    r = office.session().get(f"{office.url}/api/v1/payments/reconciliation", timeout=5)
    assert r.status_code == 403  # kiosks and plain staff do not read the day's money


def test_amount_only_from_the_server(office: Office) -> None:
    kiosk = office.session()
    r = kiosk.post(f"{office.url}/api/v1/tickets/{office.tickets[0]}/payments",
                   json={"method": "counter", "amount_yen": 1}, timeout=5)
    assert r.status_code == 422 and "amount_yen" in r.text  # not the kiosk's to say
    r = kiosk.post(f"{office.url}/api/v1/tickets/{office.tickets[0]}/payments",
                   json={"method": "counter"}, timeout=5)
    assert r.status_code == 201 and r.json()["amount_yen"] == 600  # 2 copies × 300
    # A fee-exempt purpose (住民票 for a pension procedure) leaves nothing to pay.
    free = issue_ticket(office.url, office.tokens["kiosk-kita"], "juminhyo",
                        {"copies": 1, "purpose": "年金の手続き"})
    assert free["fee_yen"] == 0
    r = kiosk.post(f"{office.url}/api/v1/tickets/{free['id']}/payments",
                   json={"method": "code"}, timeout=5)
    assert r.status_code == 409 and r.json()["error"] == "nothing_to_pay"
    # One payment in progress at a time; a paid ticket is not charged twice.
    r = kiosk.post(f"{office.url}/api/v1/tickets/{office.tickets[0]}/payments",
                   json={"method": "code"}, timeout=5)
    assert r.status_code == 409 and r.json()["error"] == "payment_in_progress"


def test_reconciliation_agrees_with_provider(office: Office) -> None:
    # The day's report covers every payment this module made (paid, failed, canceled,
    # expired, through webhooks lost, duplicated, forged and replayed) plus these.
    boss = office.session("boss")
    url = f"{office.url}/api/v1/payments/reconciliation"
    before = boss.get(url, timeout=10).json()
    for ticket, outcome in zip(office.tickets, ["succeed", "decline", "succeed"], strict=False):
        office.provider.behave(outcome=outcome)
        flow = scan_code(office, ticket)
        flow.wait(10)
    office.terminal.control(outcome="succeed", delay_s=0.05)
    flow = flow_for(office, office.tickets[3])
    flow.start("terminal")
    assert flow.wait(10).screen is Screen.PAID
    report = boss.get(url, timeout=10).json()
    assert report["provider_checked"] and report["ok"], report["mismatches"]
    provider_paid = sum(p["amount"] for p in office.provider.settlements(
        datetime.now(UTC).date().isoformat()) if p["status"] == "completed")
    code_total = sum(r["amount_yen"] for r in report["rows"] if r["method"] == "code")
    assert code_total == provider_paid
    assert report["total_yen"] - before["total_yen"] == 600 + 450 + 300

    def count(rep: dict[str, Any], procedure: str, method: str) -> int:
        return sum(r["count"] for r in rep["rows"]
                   if (r["procedure"], r["method"]) == (procedure, method))

    assert count(report, "juminhyo", "code") - count(before, "juminhyo", "code") == 1
    assert count(report, "koseki", "code") - count(before, "koseki", "code") == 1
    assert count(report, "juminhyo", "terminal") - count(before, "juminhyo", "terminal") == 1
    csv_text = boss.get(url + "?format=csv", timeout=10).text
    assert f"juminhyo,terminal,{count(report, 'juminhyo', 'terminal')}," in csv_text


def test_reconciliation_flags_mismatches(office: Office) -> None:
    flow = scan_code(office, office.tickets[0])
    assert flow.wait(10).screen is Screen.PAID
    payment = office.payments_of(office.tickets[0])["payments"][-1]
    url = f"{office.url}/api/v1/payments/reconciliation"
    # Someone alters our record behind the application's back: the report must say so.
    db = create_engine(normalize_url(office.db_url))
    alter = text("UPDATE payments SET amount_yen = :amount WHERE id = :id")
    try:
        with db.begin() as conn:
            conn.execute(alter, {"amount": 60, "id": payment["id"]})
        report = office.session("boss").get(url, timeout=10).json()
        assert not report["ok"]
        [mismatch] = report["mismatches"]
        assert mismatch["reference"] == payment["reference"]
        assert "amount differs: here 60, provider 600" in mismatch["problem"]
        assert "mismatch," in office.session("boss").get(url + "?format=csv", timeout=10).text
    finally:
        with db.begin() as conn:
            conn.execute(alter, {"amount": 600, "id": payment["id"]})
        db.dispose()
    assert office.session("boss").get(url, timeout=10).json()["ok"]
