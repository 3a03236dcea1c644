"""Terminal payments reconciled with the terminal's own journal: real terminal stand-in,
real back-office process; the journal is fetched over the nexo Reconciliation request
(as the supervisor's day-end does) and uploaded to the back-office."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from kiosk.domain.payment import PaymentState
from kiosk.payment.client import BackofficeError, PaymentClient
from kiosk.payment.flow import Screen
from kiosk.payment.terminal import NexoTcpTerminal
from tests.payment.conftest import Office
from tests.payment.steps import flow_for, scan_code

UPLOAD = "/api/v1/payments/reconciliation/terminal-journal"


def pay_at_terminal(office: Office, ticket: int, outcome: str = "succeed") -> str:
    office.terminal.control(outcome=outcome, delay_s=0.05)
    flow = flow_for(office, ticket)
    flow.start("terminal")
    expected = Screen.PAID if outcome == "succeed" else Screen.FAILED
    assert flow.wait(10).screen is expected
    reference: str = office.payments_of(ticket)["payments"][-1]["reference"]
    return reference


def terminal(office: Office, sale_id: str = "kiosk-kita") -> NexoTcpTerminal:
    return NexoTcpTerminal("127.0.0.1", office.terminal.port, sale_id=sale_id, timeout_s=5)


def test_journal_agrees_on_a_normal_day(office: Office, tmp_path: Path) -> None:
    paid = pay_at_terminal(office, office.tickets[0])
    declined = pay_at_terminal(office, office.tickets[1], "decline")
    retried = pay_at_terminal(office, office.tickets[1])       # declined, then paid
    assert scan_code(office, office.tickets[2]).wait(10).screen is Screen.PAID  # code: not in it
    journal = terminal(office).journal()
    assert journal["poi_id"] == "T-001"
    by_ref = {t["service_id"]: t for t in journal["transactions"]}
    assert by_ref[paid]["status"] == "Success" and by_ref[declined]["status"] == "Failure"
    report = PaymentClient(office.url, office.tokens["boss"]).reconcile_terminal(journal)
    assert report["terminal_checked"] and report["provider_checked"]
    assert report["ok"] and report["mismatches"] == []
    journal_paid = sum(t["amount"] for t in journal["transactions"] if t["status"] == "Success")
    assert sum(r["amount_yen"] for r in report["rows"] if r["method"] == "terminal") \
        == journal_paid
    assert {paid, retried} <= {t["service_id"] for t in journal["transactions"]
                               if t["status"] == "Success"}
    # The same through the supervisor's day-end command: terminal → back-office.
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f"[payment.terminal]\nport = {office.terminal.port}\nsale_id = \"dayend\"\n")
    saved = tmp_path / "journal.json"
    env = {**os.environ, "PAYMENT_SUPERVISOR_TOKEN": office.tokens["boss"]}
    run = subprocess.run([sys.executable, "-m", "kiosk.payment.dayend", "--backoffice",
                          office.url, "--config", str(cfg), "--save", str(saved)], env=env,
                         capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr + run.stdout
    assert json.loads(run.stdout)["ok"] and json.loads(saved.read_text())["transactions"]


def test_journal_mismatches_flagged(office: Office) -> None:
    missing = pay_at_terminal(office, office.tickets[0])
    declined = pay_at_terminal(office, office.tickets[1])
    altered = pay_at_terminal(office, office.tickets[2])
    # A sale keyed in at the terminal itself (not through the kiosk or back-office).
    by_hand = terminal(office, "counter-2").pay("kita-by-hand-1", "by-hand-1", 1200,
                                                threading.Event())
    assert by_hand.state is PaymentState.PAID
    boss = PaymentClient(office.url, office.tokens["boss"])
    journal = terminal(office).journal()
    report = boss.reconcile_terminal(journal)
    assert not report["ok"]
    assert [(m["reference"], m["source"], m["problem"]) for m in report["mismatches"]] == [
        ("kita-by-hand-1", "terminal", "paid at the terminal, unknown here")]
    assert report["mismatches"][0]["terminal"]["amount_yen"] == 1200
    # The acquirer's copy of the journal disagrees with ours in every other way.
    entries: list[dict[str, Any]] = []
    for t in journal["transactions"]:
        if t["service_id"] == missing:
            continue
        if t["service_id"] == declined:
            t = {**t, "status": "Failure", "error": "Refusal"}
        if t["service_id"] == altered:
            t = {**t, "amount": 400}
        entries.append(t)
    report = boss.reconcile_terminal({**journal, "transactions": entries})
    problems = {m["reference"]: m["problem"] for m in report["mismatches"]}
    assert not report["ok"] and problems == {
        missing: "paid here, unknown to the terminal",
        declined: "state differs: here paid, terminal failed",
        altered: "amount differs: here 450, terminal 400",
        "kita-by-hand-1": "paid at the terminal, unknown here"}
    csv_text = office.session("boss").post(f"{office.url}{UPLOAD}?format=csv", timeout=10,
                                           json={**journal, "transactions": entries}).text
    assert f'mismatch,{altered},"amount differs: here 450' in csv_text
    # The POI transaction id must match too (a slip of another sale for the same amount).
    swapped = [{**t, "poi_transaction_id": "poi_other"} if t["service_id"] == altered else t
               for t in journal["transactions"]]
    report = boss.reconcile_terminal({**journal, "transactions": swapped})
    assert any(m["reference"] == altered and m["problem"].startswith("transaction id differs")
               for m in report["mismatches"])


def test_journal_upload_checked(office: Office) -> None:
    journal = terminal(office).journal()
    for who in ("kiosk-kita", "staff"):  # only a supervisor reads the day's money
        r = office.session(who).post(f"{office.url}{UPLOAD}", json=journal, timeout=10)
        assert r.status_code == 403, (who, r.text)
    bad = {"poi_id": "T-001", "transactions": [{"service_id": "kita-1-x", "status": "Paid",
                                                "amount": 300}]}
    boss = PaymentClient(office.url, office.tokens["boss"])
    for body in (bad, {"transactions": [{"service_id": "", "status": "Success", "amount": 1}]},
                 {"journal": []}):
        try:
            boss.reconcile_terminal(body)
        except BackofficeError as exc:
            assert exc.status == 422, exc
        else:
            raise AssertionError(f"accepted {body}")
    # Another ward's report takes only that ward's entries of a shared terminal journal.
    naka = boss.reconcile_terminal(journal, ward="naka")
    assert naka["terminal_checked"]
    assert all(not re.match(r"kita-\d+-", m["reference"]) for m in naka["mismatches"])
