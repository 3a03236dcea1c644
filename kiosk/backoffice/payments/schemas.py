"""Response models of the payment API: only these keys leave (docs/payment.md, "API"); the
terminal key and a generated password-like secret only where listed."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kiosk.backoffice.schemas import Out


class Payment(Out):
    """One payment attempt (PaymentService.public)."""
    id: int
    ticket_id: int
    ticket_number: str
    ward: str
    procedure: str | None
    method: str
    state: str
    final: bool
    amount_yen: int
    reference: str | None
    terminal_service_id: str | None
    provider_id: str | None
    external_ref: str | None
    qr_payload: str | None
    expires_at: str | None
    expires_at_epoch: float | None
    error: str | None
    created_at: str | None
    updated_at: str | None
    paid_at: str | None


class TicketPayments(Out):
    ticket_id: int
    ticket_number: str
    fee_yen: int | None
    payment_status: str | None
    paid: bool
    payments: list[Payment]


class PaymentEvent(Out):
    id: int
    at: str | None
    source: str
    actor: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    outcome: str | None
    data: Any


class WebhookAck(Out):
    ok: bool
    payment_id: int
    state: str


class ReportRow(Out):
    procedure: str | None
    method: str
    count: int
    amount_yen: int


class LedgerSide(Out):
    state: str
    amount_yen: int
    transaction_id: str | None = None  # the terminal's side only


class Mismatch(Out):
    """Ours against the provider's or the terminal's side (named by `source`)."""
    reference: str
    problem: str
    source: str
    ours: LedgerSide | None
    provider: LedgerSide | None = None
    terminal: LedgerSide | None = None


class Reconciliation(Out):
    date: str
    ward: str | None
    total_yen: int
    provider_checked: bool
    provider_error: str | None
    terminal_checked: bool
    ok: bool
    rows: list[ReportRow]
    mismatches: list[Mismatch]


class Terminal(Out):
    terminal_id: str
    device: str
    device_id: int
    ward: str | None


class TerminalMade(Terminal):
    key: str | None = None  # only when the server generated it (shown once)


class TerminalListed(Terminal):
    created_at: str
    created_by: str | None
