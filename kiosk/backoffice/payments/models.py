"""Payment tables, on the back-office's metadata (created by migrations 0100_payments and
0420_terminal_keys)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from kiosk.backoffice.models import BigId, metadata

payments = Table(
    "payments", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigId, ForeignKey("tickets.id"), nullable=False),
    Column("ward", String(32), nullable=False),
    Column("procedure", String(32), nullable=False, server_default=""),
    Column("method", String(16), nullable=False),          # code | terminal | counter
    Column("state", String(16), nullable=False),           # kiosk.domain.payment.PaymentState
    Column("amount_yen", Integer, nullable=False),         # from the ticket's server-side fee
    Column("reference", String(64), nullable=False, unique=True),  # our id towards others
    Column("provider_id", String(64), unique=True),        # the provider's payment id
    Column("provider_sequence", Integer, nullable=False, server_default="0"),
    Column("external_ref", String(64)),                    # terminal / counter transaction id
    Column("qr_payload", Text),
    Column("expires_at", DateTime),
    Column("error", String(200)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("paid_at", DateTime),
    # The kiosk that started it: only that kiosk may report its terminal's result.
    Column("device_id", Integer, ForeignKey("devices.id")),
    Index("ix_payments_ticket", "ticket_id"),
    Index("ix_payments_ward_created", "ward", "created_at"),
)

payment_events = Table(
    "payment_events", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("payment_id", BigId, ForeignKey("payments.id"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("source", String(16), nullable=False),   # kiosk webhook poll terminal staff expiry
    Column("actor", String(64)),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),  # applied | repeat | refused | stale
    Column("data", Text, nullable=False, server_default="{}"),
    Index("ix_payment_events_payment", "payment_id"),
)

webhook_nonces = Table(
    "payment_webhook_nonces", metadata,
    Column("nonce", String(64), primary_key=True),
    Column("received_at", DateTime, nullable=False),
)

# A kiosk's payment terminal and the key it signs its answers with (hex). The key is read
# back to check each answer, so it is kept, never shown again after registration, and
# never logged. One terminal per kiosk, one kiosk per terminal.
payment_terminals = Table(
    "payment_terminals", metadata,
    Column("terminal_id", String(64), primary_key=True),     # the terminal's nexo POIID
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False, unique=True),
    Column("ward", String(32), nullable=False),
    Column("key", String(128), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
)

# Every terminal transaction id taken once: a replayed answer is refused.
terminal_receipts = Table(
    "payment_terminal_receipts", metadata,
    Column("terminal_id", String(64), primary_key=True),
    Column("transaction_id", String(64), primary_key=True),
    Column("payment_id", BigId, ForeignKey("payments.id"), nullable=False),
    Column("received_at", DateTime, nullable=False),
)
