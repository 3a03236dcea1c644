"""Steps the end-to-end payment tests share: drive the kiosk flow, wait, compare sides."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from kiosk.payment.client import PaymentClient
from kiosk.payment.flow import FlowView, PaymentFlow, Screen
from kiosk.payment.terminal import NexoTcpTerminal
from tests.payment.conftest import Office


def flow_for(office: Office, ticket: int, views: list[FlowView] | None = None) -> PaymentFlow:
    client = PaymentClient(office.url, office.tokens["kiosk-kita"])
    terminal = NexoTcpTerminal("127.0.0.1", office.terminal.port, sale_id="kiosk-kita",
                               timeout_s=3, recover_s=3)
    return PaymentFlow(client, terminal, ticket, poll_seconds=0.2,
                       on_change=views.append if views is not None else None)


def showing_code(flow: PaymentFlow, timeout: float = 10) -> FlowView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = flow.view
        if view.screen is not Screen.STARTING:
            return view
        time.sleep(0.02)
    raise AssertionError("no code shown")


def scan_code(office: Office, ticket: int, poll_seconds: float = 0.2,
               views: list[FlowView] | None = None) -> PaymentFlow:
    """Kiosk starts a code payment, the code shows, the resident scans it."""
    flow = flow_for(office, ticket, views)
    flow.poll_seconds = poll_seconds
    flow.start("code")
    shown = showing_code(flow)
    assert shown.screen is Screen.SHOW_CODE and shown.qr_payload, shown
    office.provider.scan(provider_id(office, ticket))
    return flow


def provider_id(office: Office, ticket: int) -> str:
    return str(office.payments_of(ticket)["payments"][-1]["provider_id"])


def until(check: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def consistent(office: Office, ticket: int, state: str, provider_status: str | None) -> None:
    record = office.payments_of(ticket)
    assert record["payments"][-1]["state"] == state
    assert record["payment_status"] in (state, "paid")
    if provider_status is not None:
        ref = record["payments"][-1]["reference"]
        mine = [p for p in office.provider.settlements(datetime.now(UTC).date().isoformat())
                if p["merchant_payment_id"] == ref]
        assert mine and mine[0]["status"] == provider_status
