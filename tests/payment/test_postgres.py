"""The main payment paths with the back-office on PostgreSQL (row locks instead of
SQLite's single writer): concurrent duplicate webhooks and kiosk polls on one payment."""

from __future__ import annotations

import threading

import pytest

from kiosk.payment.flow import Screen
from tests.payment.conftest import Office
from tests.payment.steps import consistent, flow_for, scan_code

DATABASE = "postgres"  # read by the office fixture
pytestmark = pytest.mark.postgres


def test_paid_with_duplicate_webhooks_and_racing_polls(office: Office) -> None:
    office.provider.behave(webhooks="duplicate")
    ticket = office.tickets[0]
    flow = scan_code(office, ticket)
    # Hammer the same payment from other "kiosks" while the webhooks land.
    pid = office.payments_of(ticket)["payments"][-1]["id"]
    kiosk = office.session()

    def poll() -> None:
        for _ in range(10):
            kiosk.get(f"{office.url}/api/v1/payments/{pid}", timeout=10).raise_for_status()

    pollers = [threading.Thread(target=poll) for _ in range(4)]
    for t in pollers:
        t.start()
    for t in pollers:
        t.join()
    assert flow.wait(15).screen is Screen.PAID
    consistent(office, ticket, "paid", "completed")
    trail = office.session("staff").get(f"{office.url}/api/v1/payments/{pid}/events",
                                        timeout=5).json()
    assert [e["to"] for e in trail if e["outcome"] == "applied"] == ["created", "pending", "paid"]


def test_terminal_and_reconciliation(office: Office) -> None:
    office.terminal.control(outcome="succeed", delay_s=0.05)
    flow = flow_for(office, office.tickets[1])
    flow.start("terminal")
    assert flow.wait(10).screen is Screen.PAID
    consistent(office, office.tickets[1], "paid", None)
    report = office.session("boss").get(f"{office.url}/api/v1/payments/reconciliation",
                                        timeout=10).json()
    assert report["ok"] and report["provider_checked"], report
