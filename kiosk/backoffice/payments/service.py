"""Payment records and their audited, idempotent state changes.

The amount always comes from the ticket's fee, which the back-office computed from the
catalog when it issued the ticket — never from a kiosk or a browser. Every attempted
change is written to `payment_events` (applied, repeat, refused, stale), so a duplicate
or late webhook leaves a trace but no effect. No network call is made inside a
database transaction: SQLite would hold its write lock across it.

Over 400 lines on purpose: one state machine (PaymentService) whose changes — by the kiosk,
the terminal, the provider's webhook, the counter — share its private helpers and its one
audited `_change`; cut apart, each part would need them all.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from kiosk.backoffice.config import BackofficePaymentSettings
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine.errors import (
    Conflict,
    EngineError,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    Unauthenticated,
    Unavailable,
    conflict,
    not_found,
)
from kiosk.backoffice.models import tickets
from kiosk.backoffice.payments import terminals
from kiosk.backoffice.payments.models import (
    payment_events,
    payments,
    terminal_receipts,
    webhook_nonces,
)
from kiosk.domain.payment import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    JournalError,
    LedgerEntry,
    Mismatch,
    PaymentMethod,
    PaymentState,
    SignatureError,
    TerminalReceipt,
    TransitionError,
    reconcile,
    terminal_journal,
    transition,
    verify_webhook,
)
from kiosk.payment.provider import CodePaymentProvider, ProviderError, ProviderPayment

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _iso(value: datetime | None) -> str | None:
    return value.replace(tzinfo=UTC).isoformat() if value is not None else None


@dataclass(frozen=True)
class Actor:
    """Who asked: a staff username or a device id, and the ward they may act in."""

    source: str                 # kiosk | staff | webhook | poll | terminal
    name: str = ""
    ward: str | None = None     # None = city-wide
    device_id: int | None = None
    principal: Any = None       # the caller (kiosk.backoffice.auth.Principal) for the trail

    def may_see(self, ward: str) -> bool:
        return self.ward is None or self.ward == ward


class PaymentService:
    def __init__(self, engine: Engine, settings: BackofficePaymentSettings,
                 provider: CodePaymentProvider | None, tz: ZoneInfo,
                 backoffice: Any = None) -> None:
        self.engine = engine
        self.backoffice = backoffice  # kiosk.backoffice.context.Backoffice: live events
        self.settings = settings
        self.provider = provider
        self.tz = tz

    # --- reading ---------------------------------------------------------------------
    def _row(self, conn: Connection, payment_id: int, lock: bool = False) -> Any:
        query = select(payments, tickets.c.label).join(
            tickets, tickets.c.id == payments.c.ticket_id).where(payments.c.id == payment_id)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update(of=payments)
        row = conn.execute(query).mappings().first()
        if row is None:
            raise not_found(f"payment {payment_id}")
        return row

    @staticmethod
    def public(row: Any) -> dict[str, Any]:
        expires = row["expires_at"]
        return {
            "id": row["id"], "ticket_id": row["ticket_id"], "ticket_number": row["label"],
            "ward": row["ward"], "procedure": row["procedure"], "method": row["method"],
            "state": row["state"], "final": PaymentState(row["state"]).final,
            "amount_yen": row["amount_yen"], "reference": row["reference"],
            "terminal_service_id": row["reference"], "provider_id": row["provider_id"],
            "external_ref": row["external_ref"], "qr_payload": row["qr_payload"],
            "expires_at": _iso(expires),
            "expires_at_epoch": expires.replace(tzinfo=UTC).timestamp() if expires else None,
            "error": row["error"], "created_at": _iso(row["created_at"]),
            "updated_at": _iso(row["updated_at"]), "paid_at": _iso(row["paid_at"]),
        }

    def get(self, payment_id: int, actor: Actor, *, poll: bool = True) -> dict[str, Any]:
        with reading(self.engine) as conn:
            row = self._row(conn, payment_id)
        if not actor.may_see(row["ward"]):
            raise Forbidden("forbidden", f"payment {payment_id} belongs to another ward")
        if (poll and row["state"] == PaymentState.PENDING and row["method"] == PaymentMethod.CODE
                and row["provider_id"] and self.provider is not None
                and (_utcnow() - row["updated_at"]).total_seconds() >= self.settings.poll_after):
            # Polling fallback: no webhook came (yet); ask the provider ourselves.
            try:
                remote = self.provider.status(row["provider_id"])
            except ProviderError as exc:
                log.warning("provider status for payment %s failed: %s", payment_id, exc)
            else:
                row = self._apply_remote(payment_id, remote, "poll")
        return self.public(row)

    def for_ticket(self, ticket_id: int, actor: Actor) -> dict[str, Any]:
        with reading(self.engine) as conn:
            ticket = conn.execute(select(tickets.c.id, tickets.c.ward, tickets.c.label,
                                         tickets.c.fee_yen, tickets.c.payment_status)
                                  .where(tickets.c.id == ticket_id)).mappings().first()
            if ticket is None:
                raise not_found(f"ticket {ticket_id}")
            if not actor.may_see(ticket["ward"]):
                raise Forbidden("forbidden", f"ticket {ticket_id} belongs to another ward")
            rows = conn.execute(select(payments, tickets.c.label).join(
                tickets, tickets.c.id == payments.c.ticket_id)
                .where(payments.c.ticket_id == ticket_id).order_by(payments.c.id)).mappings()
            attempts = [self.public(r) for r in rows]
        return {"ticket_id": ticket_id, "ticket_number": ticket["label"],
                "fee_yen": ticket["fee_yen"], "payment_status": ticket["payment_status"],
                "paid": any(p["state"] == PaymentState.PAID for p in attempts),
                "payments": attempts}

    def events(self, payment_id: int, actor: Actor) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            row = self._row(conn, payment_id)
            if not actor.may_see(row["ward"]):
                raise Forbidden("forbidden", f"payment {payment_id} belongs to another ward")
            rows = conn.execute(select(payment_events).where(
                payment_events.c.payment_id == payment_id).order_by(payment_events.c.id))
            return [{"id": r.id, "at": _iso(r.at), "source": r.source, "actor": r.actor,
                     "from": r.from_state, "to": r.to_state, "outcome": r.outcome,
                     "data": json.loads(r.data)} for r in rows]

    # --- state changes -------------------------------------------------------------------
    def _audit(self, conn: Connection, payment_id: int, source: str, actor: str,
               old: str | None, new: str, outcome: str, data: Mapping[str, Any]) -> None:
        conn.execute(insert(payment_events).values(
            payment_id=payment_id, at=_utcnow(), source=source, actor=actor or None,
            from_state=old, to_state=new, outcome=outcome,
            data=json.dumps(dict(data), ensure_ascii=False, default=str)))

    def _change(self, payment_id: int, target: PaymentState, source: str, actor: str = "",
                data: Mapping[str, Any] | None = None, *, sequence: int | None = None,
                receipt: TerminalReceipt | None = None, principal: Any = None,
                **fields: Any) -> Any:
        """Move a payment to `target` — once. Repeats and contradictions are audited and
        leave the record as it is; the caller gets the record either way. A terminal's
        `receipt` is taken once (IntegrityError or Conflict "replay" on a second time)."""
        data = dict(data or {})
        pending: list[dict[str, Any]] = []
        with writing(self.engine) as conn:
            row = self._row(conn, payment_id, lock=True)
            if receipt is not None:
                self._take_receipt(conn, payment_id, receipt)
            current = PaymentState(row["state"])
            if sequence is not None and sequence < row["provider_sequence"]:
                self._audit(conn, payment_id, source, actor, current, target, "stale", data)
                return row
            try:
                changed = transition(current, target)
            except TransitionError as exc:
                self._audit(conn, payment_id, source, actor, current, target, "refused",
                            {**data, "reason": str(exc)})
                return row
            if not changed:
                self._audit(conn, payment_id, source, actor, current, target, "repeat", data)
                if fields or sequence is not None:
                    values = dict(fields)
                    if sequence is not None:
                        values["provider_sequence"] = max(sequence, row["provider_sequence"])
                    conn.execute(update(payments).where(payments.c.id == payment_id)
                                 .values(**values))
                    row = self._row(conn, payment_id)
                return row
            now = _utcnow()
            values = {"state": target.value, "updated_at": now, **fields}
            if sequence is not None:
                values["provider_sequence"] = sequence
            if target is PaymentState.PAID:
                values["paid_at"] = now
            conn.execute(update(payments).where(payments.c.id == payment_id).values(**values))
            self._audit(conn, payment_id, source, actor, current, target, "applied", data)
            row = self._row(conn, payment_id)
            self._update_ticket(conn, row)
            if target is PaymentState.PAID:
                self._announce_paid(conn, row, pending, principal)
            log.info("payment %s (ticket %s): %s → %s by %s", payment_id, row["label"],
                     current.value, target.value, source)
        if pending and self.backoffice is not None:
            self.backoffice.after_commit(pending)
        return row

    @staticmethod
    def _take_receipt(conn: Connection, payment_id: int, receipt: TerminalReceipt) -> None:
        seen = conn.execute(select(terminal_receipts.c.payment_id).where(
            terminal_receipts.c.terminal_id == receipt.terminal_id,
            terminal_receipts.c.transaction_id == receipt.transaction_id)).first()
        if seen is not None:
            raise conflict("replay", f"terminal transaction {receipt.transaction_id} was "
                           "reported before")
        conn.execute(insert(terminal_receipts).values(
            terminal_id=receipt.terminal_id, transaction_id=receipt.transaction_id,
            payment_id=payment_id, received_at=_utcnow()))

    def _announce_paid(self, conn: Connection, row: Any, pending: list[dict[str, Any]],
                       principal: Any = None) -> None:
        """A `ticket.paid` event in the ticket's audit trail (with who settled it) and on
        the live stream, so the counter console sees the payment without polling."""
        if self.backoffice is None:
            return
        from kiosk.backoffice.engine import audit

        ticket = conn.execute(select(tickets).where(tickets.c.id == row["ticket_id"])).first()
        audit.record(self.backoffice, conn, pending, type="ticket.paid", ward=row["ward"],
                     service=ticket.service if ticket is not None else None, ticket=ticket,
                     counter=None, actor=principal,
                     data={"payment_id": row["id"], "method": row["method"],
                           "amount_yen": row["amount_yen"]})

    @staticmethod
    def _update_ticket(conn: Connection, row: Any) -> None:
        """The ticket shows its payment: paid wins; else the latest attempt's state."""
        if row["state"] != PaymentState.PAID:
            paid = conn.execute(select(payments.c.id).where(
                payments.c.ticket_id == row["ticket_id"], payments.c.state == "paid")).first()
            latest = conn.execute(select(payments.c.id).where(
                payments.c.ticket_id == row["ticket_id"]).order_by(payments.c.id.desc())).first()
            if paid is not None or (latest is not None and latest.id != row["id"]):
                return
        # The ticket speaks the back-office's words: none, pending, paid, failed,
        # canceled, expired ("created" is a moment of ours, shown as pending).
        status = "pending" if row["state"] == PaymentState.CREATED else row["state"]
        conn.execute(update(tickets).where(tickets.c.id == row["ticket_id"]).values(
            payment_status=status,
            payment={"payment_id": row["id"], "method": row["method"], "state": row["state"],
                     "amount_yen": row["amount_yen"], "reference": row["reference"]}))

    # --- starting --------------------------------------------------------------------
    def start(self, ticket_id: int, method: str, actor: Actor, base_url: str) -> dict[str, Any]:
        try:
            chosen = PaymentMethod(method)
        except ValueError:
            raise Invalid("validation_error", f"method must be one of "
                          f"{', '.join(m.value for m in PaymentMethod)}") from None
        if chosen is PaymentMethod.TERMINAL and actor.device_id is None:
            raise Forbidden("forbidden", "a terminal payment is started by the kiosk "
                            "whose terminal takes it; at the counter: paid-at-counter")
        now = _utcnow()
        with writing(self.engine) as conn:
            ticket = conn.execute(
                select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
            if ticket is None:
                raise not_found(f"ticket {ticket_id}")
            if not actor.may_see(ticket["ward"]):
                raise Forbidden("forbidden", f"ticket {ticket_id} belongs to another ward")
            if (chosen is PaymentMethod.TERMINAL
                    and terminals.of_device(conn, actor.device_id) is None):
                raise conflict("no_terminal", "no payment terminal is registered for this "
                               "kiosk (admin: /api/v1/admin/payment-terminals)")
            if ticket["fee_yen"] <= 0:
                raise conflict("nothing_to_pay", f"ticket {ticket['label']} has no fee")
            open_rows = conn.execute(select(payments).where(
                payments.c.ticket_id == ticket_id,
                payments.c.state.in_(("created", "pending", "paid")))).mappings().all()
            for other in open_rows:
                if other["state"] == PaymentState.PAID:
                    raise conflict("already_paid", f"ticket {ticket['label']} is already paid",
                                   payment_id=other["id"])
                if (other["method"] == chosen and chosen is not PaymentMethod.CODE
                        and (chosen is PaymentMethod.COUNTER
                             or other["device_id"] == actor.device_id)):
                    return self.public(self._row(conn, other["id"]))
                raise conflict("payment_in_progress",
                               f"ticket {ticket['label']} has payment {other['id']} in progress; "
                               "cancel it first", payment_id=other["id"])
            reference = f"{ticket['ward']}-{ticket_id}-{secrets.token_hex(4)}"
            payment_id = conn.execute(insert(payments).values(
                ticket_id=ticket_id, ward=ticket["ward"], procedure=ticket["procedure"] or "",
                method=chosen.value, state=PaymentState.CREATED.value,
                amount_yen=ticket["fee_yen"], reference=reference, created_at=now,
                updated_at=now, device_id=actor.device_id)).inserted_primary_key[0]  # type: ignore[index]
            self._audit(conn, payment_id, actor.source, actor.name, None, "created", "applied",
                        {"amount_yen": ticket["fee_yen"], "method": chosen.value})
            self._update_ticket(conn, self._row(conn, payment_id))
        if chosen is PaymentMethod.CODE:
            row = self._start_code(payment_id, reference, ticket, base_url)
        else:
            # Terminal: the kiosk drives it now; counter: staff take it there.
            row = self._change(payment_id, PaymentState.PENDING, actor.source, actor.name)
        return self.public(row)

    def _start_code(self, payment_id: int, reference: str, ticket: Any,
                    base_url: str) -> Any:
        if self.provider is None:
            return self._change(payment_id, PaymentState.FAILED, "provider",
                                error="no code-payment provider configured")
        hook = (self.settings.webhook_url or base_url.rstrip("/")
                + "/api/v1/payments/webhook")
        try:
            remote = self.provider.create(reference, ticket["fee_yen"],
                                          f"{ticket['label']} {ticket['procedure'] or ''}",
                                          self.settings.code_expiry, hook)
        except ProviderError as exc:
            return self._change(payment_id, PaymentState.FAILED, "provider",
                                data={"error": str(exc)}, error=str(exc)[:200])
        if remote.amount_yen != ticket["fee_yen"]:
            self.provider.cancel(remote.provider_id)
            return self._change(payment_id, PaymentState.FAILED, "provider",
                                error=f"provider amount {remote.amount_yen} differs")
        expires = datetime.fromtimestamp(remote.expires_at, UTC).replace(tzinfo=None)
        return self._change(payment_id, remote.state, "provider",
                            data={"provider_id": remote.provider_id},
                            sequence=remote.sequence, provider_id=remote.provider_id,
                            qr_payload=remote.qr_payload, expires_at=expires)

    def _apply_remote(self, payment_id: int, remote: ProviderPayment, source: str) -> Any:
        with reading(self.engine) as conn:
            row = self._row(conn, payment_id)
        if remote.state is PaymentState.PAID and remote.amount_yen != row["amount_yen"]:
            # Never accept a payment of another amount as paid: flag it for staff.
            return self._change(payment_id, PaymentState.FAILED, source,
                                data={"provider_amount": remote.amount_yen},
                                error=f"provider reports {remote.amount_yen} yen, "
                                      f"fee is {row['amount_yen']}")
        return self._change(payment_id, remote.state, source,
                            data={"provider_status": remote.state.value,
                                  "sequence": remote.sequence},
                            sequence=remote.sequence)

    # --- the resident / staff / terminal ---------------------------------------------
    def cancel(self, payment_id: int, actor: Actor) -> dict[str, Any]:
        with reading(self.engine) as conn:
            row = self._row(conn, payment_id)
        if not actor.may_see(row["ward"]):
            raise Forbidden("forbidden", f"payment {payment_id} belongs to another ward")
        if PaymentState(row["state"]).final:
            self._change(payment_id, PaymentState.CANCELED, actor.source, actor.name)
            return self.public(row)
        if row["method"] == PaymentMethod.CODE and row["provider_id"] and self.provider:
            # Ask the provider first: the resident may have paid a moment ago.
            try:
                remote = self.provider.cancel(row["provider_id"])
            except ProviderError as exc:
                raise Unavailable(
                    "unavailable",
                    f"the payment provider did not confirm the cancel: {exc}") from None
            if remote.state is not PaymentState.CANCELED:
                return self.public(self._apply_remote(payment_id, remote, actor.source))
        return self.public(self._change(payment_id, PaymentState.CANCELED, actor.source,
                                        actor.name))

    def terminal_result(self, payment_id: int, body: Mapping[str, Any],
                        actor: Actor) -> dict[str, Any]:
        """The terminal's answer, passed on by the kiosk that started the payment. "paid"
        counts only with the terminal's proof (HMAC with its registered key) over this
        payment's reference, the amount and a transaction id not seen before; any answer
        carrying a proof must carry a good one. Other answers move no money and need none."""
        with reading(self.engine) as conn:
            row = self._row(conn, payment_id)
            terminal = terminals.of_device(conn, row["device_id"])
        if not actor.may_see(row["ward"]):
            raise Forbidden("forbidden", f"payment {payment_id} belongs to another ward")
        # who asks comes before what the payment is: another caller learns nothing of it
        if actor.device_id is None or actor.device_id != row["device_id"]:
            raise Forbidden("forbidden", f"payment {payment_id} was started by another "
                            "device: only that kiosk reports its terminal's answer")
        if row["method"] != PaymentMethod.TERMINAL:
            raise conflict("illegal_transition", f"payment {payment_id} is not a terminal payment")
        try:
            state = PaymentState(str(body.get("state", "")))
        except ValueError:
            raise Invalid("validation_error", "state must be a payment state") from None
        data = {k: body.get(k) for k in ("transaction_id", "timestamp", "error", "amount_yen",
                                         "terminal_id")}
        receipt = None
        if state is PaymentState.PAID or body.get("mac"):
            receipt = TerminalReceipt(
                str(body.get("terminal_id", "")), row["reference"],
                "Success" if state is PaymentState.PAID else "Failure",
                int(body.get("amount_yen") or 0), str(body.get("transaction_id", "")),
                str(body.get("timestamp", "")))
            self._check_proof(row, terminal, receipt, str(body.get("mac", "")), actor, data)
        try:
            return self.public(self._terminal_change(row, state, body, actor, data, receipt))
        except (EngineError, IntegrityError) as exc:
            if isinstance(exc, EngineError) and exc.code != "replay":
                raise
            self._refuse(row, state, actor, data, "replayed terminal transaction")
            raise conflict("replay", f"terminal transaction {data['transaction_id']} was "
                           "reported before") from None

    def _terminal_change(self, row: Any, state: PaymentState, body: Mapping[str, Any],
                         actor: Actor, data: dict[str, Any],
                         receipt: TerminalReceipt | None) -> Any:
        payment_id = row["id"]
        who = {"receipt": receipt, "principal": actor.principal}
        if state is PaymentState.PENDING:  # the terminal's answer was lost: staff will check
            return self._change(payment_id, state, "terminal", actor.name, data,
                                error=str(body.get("error", ""))[:200], **who)
        if state is PaymentState.PAID and body.get("amount_yen") != row["amount_yen"]:
            return self._change(
                payment_id, PaymentState.FAILED, "terminal", actor.name, data,
                error=f"terminal authorised {body.get('amount_yen')}, fee is {row['amount_yen']}",
                **who)
        return self._change(
            payment_id, state, "terminal", actor.name, data,
            external_ref=str(body.get("transaction_id", ""))[:64] or None,
            error=str(body.get("error", ""))[:200] or None, **who)

    def _check_proof(self, row: Any, terminal: Any, receipt: TerminalReceipt, mac: str,
                     actor: Actor, data: dict[str, Any]) -> None:
        """Refuse (403 bad_proof, audited) an answer its terminal did not sign."""
        if not mac:
            problem = "the answer carries no terminal proof"
        elif terminal is None:
            problem = "no payment terminal is registered for this kiosk"
        elif receipt.terminal_id != terminal.terminal_id:
            problem = f"the answer names terminal {receipt.terminal_id[:64]!r}, not this kiosk's"
        elif not receipt.transaction_id:
            problem = "the answer has no terminal transaction id"
        elif not receipt.verify(bytes.fromhex(terminal.key), mac):
            problem = "the terminal's proof does not match this payment, amount and transaction"
        else:
            return
        claimed = PaymentState.PAID if receipt.result == "Success" else PaymentState.FAILED
        self._refuse(row, claimed, actor, data, problem)
        raise Forbidden("bad_proof", f"terminal result refused: {problem}")

    def _refuse(self, row: Any, target: PaymentState, actor: Actor, data: dict[str, Any],
                reason: str) -> None:
        log.warning("terminal result for payment %s refused: %s (device %s)", row["id"],
                    reason, actor.name)
        with writing(self.engine) as conn:
            self._audit(conn, row["id"], "terminal", actor.name, row["state"], target,
                        "refused", {**data, "reason": reason})

    def paid_at_counter(self, payment_id: int, reference: str, actor: Actor) -> dict[str, Any]:
        """Staff took the fee at the counter (or checked the terminal slip): their account
        is in the payment's and the ticket's trail."""
        if actor.source != "staff":
            raise Forbidden("forbidden", "only counter staff mark a fee paid at the counter")
        with reading(self.engine) as conn:
            row = self._row(conn, payment_id)
        if not actor.may_see(row["ward"]):
            raise Forbidden("forbidden", f"payment {payment_id} belongs to another ward")
        if row["method"] == PaymentMethod.CODE:
            raise conflict("illegal_transition", "a code payment is settled by the provider")
        before = row["state"]
        row = self._change(payment_id, PaymentState.PAID, "staff", actor.name,
                           {"reference": reference}, external_ref=reference[:64] or None,
                           principal=actor.principal)
        if row["state"] != PaymentState.PAID and before != PaymentState.PAID:
            raise conflict("illegal_transition", f"payment {payment_id} is {row['state']}")
        return self.public(row)

    def settle_at_counter(self, ticket_id: int, reference: str, actor: Actor) -> dict[str, Any]:
        """The console's button: the ticket's fee was paid at the counter. Takes the open
        terminal or counter payment (a terminal answer that never came), else opens a
        counter payment; a code payment in progress is the resident's to finish or cancel."""
        if actor.source != "staff":
            raise Forbidden("forbidden", "only counter staff mark a fee paid at the counter")
        with reading(self.engine) as conn:
            ward = conn.execute(select(tickets.c.ward).where(tickets.c.id == ticket_id)).scalar()
            if ward is None:
                raise not_found(f"ticket {ticket_id}")
            if not actor.may_see(ward):
                raise Forbidden("forbidden", f"ticket {ticket_id} belongs to another ward")
            open_row = conn.execute(select(payments.c.id, payments.c.method).where(
                payments.c.ticket_id == ticket_id,
                payments.c.state.in_(("created", "pending")),
                payments.c.method != PaymentMethod.CODE.value)
                .order_by(payments.c.id.desc())).first()
        payment_id = (open_row.id if open_row is not None
                      else self.start(ticket_id, PaymentMethod.COUNTER.value, actor, "")["id"])
        return self.paid_at_counter(payment_id, reference, actor)

    # --- the provider's webhook ------------------------------------------------------
    def webhook(self, headers: Mapping[str, str], body: bytes,
                peer: str = "") -> dict[str, Any]:
        if not self.settings.webhook_from(peer):
            log.warning("webhook refused: sender not in [payment] webhook_sources")
            raise Forbidden("forbidden", "webhook from an address not listed")
        reference_of = getattr(self.provider, "webhook_reference", None)
        if reference_of is not None:
            try:
                reference = reference_of(body)
            except ProviderError:
                raise Malformed("bad_request", "webhook body names no payment") from None
            return self._webhook_read_back(reference)
        secret = self.settings.webhook_secret()
        if not secret:
            raise Unavailable("unavailable", "webhook secret is not configured")
        try:
            verify_webhook(secret, headers.get(TIMESTAMP_HEADER, ""),
                           headers.get(NONCE_HEADER, ""), body,
                           headers.get(SIGNATURE_HEADER, ""), time.time(),
                           self.settings.webhook_tolerance)
        except SignatureError as exc:
            log.warning("webhook refused: %s", exc)
            raise Unauthenticated("bad_signature", f"webhook refused: {exc}") from None
        nonce = headers[NONCE_HEADER]
        now = _utcnow()
        try:
            with writing(self.engine) as conn:
                conn.execute(delete(webhook_nonces).where(webhook_nonces.c.received_at < now
                             - timedelta(seconds=2 * self.settings.webhook_tolerance)))
                conn.execute(insert(webhook_nonces).values(nonce=nonce, received_at=now))
        except IntegrityError:
            log.warning("webhook replay refused (nonce seen before)")
            raise Conflict("replay", "this webhook was delivered before") from None
        try:
            event = json.loads(body)
            remote = ProviderPayment.from_json(event["payment"])
        except (ValueError, KeyError, TypeError, ProviderError):
            raise Malformed("bad_request", "webhook body is not a payment event") from None
        with reading(self.engine) as conn:
            found = conn.execute(select(payments.c.id).where(
                payments.c.provider_id == remote.provider_id)).first()
            if found is None:
                found = conn.execute(select(payments.c.id).where(
                    payments.c.reference == remote.merchant_payment_id)).first()
        if found is None:
            # The webhook can beat our own record of the provider id (race on create).
            raise NotFound("not_found", "unknown payment; retry later")
        row = self._apply_remote(found.id, remote, "webhook")
        return {"ok": True, "payment_id": found.id, "state": row["state"]}

    def _webhook_read_back(self, reference: str) -> dict[str, Any]:
        """A provider whose webhook is unsigned (PayPay): the body only names the payment;
        its state is read from the provider's API, so a forged or repeated notification
        changes nothing the provider does not confirm."""
        with reading(self.engine) as conn:
            found = conn.execute(select(payments.c.id, payments.c.provider_id).where(
                payments.c.reference == reference)).first()
        if found is None or not found.provider_id or self.provider is None:
            raise NotFound("not_found", "unknown payment; retry later")
        try:
            remote = self.provider.status(found.provider_id)
        except ProviderError as exc:
            raise Unavailable("unavailable", f"provider did not confirm: {exc}") from None
        row = self._apply_remote(found.id, remote, "webhook")
        return {"ok": True, "payment_id": found.id, "state": row["state"]}

    # --- reconciliation --------------------------------------------------------------
    def reconciliation(self, day: date, ward: str | None, *,
                       with_provider: bool = True,
                       journal: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """The day's report; with the terminal's journal (uploaded by a supervisor) the
        terminal payments are compared transaction by transaction too."""
        start = datetime.combine(day, datetime.min.time(), self.tz).astimezone(UTC)
        end = start + timedelta(days=1)
        query = select(payments).where(payments.c.created_at >= start.replace(tzinfo=None),
                                       payments.c.created_at < end.replace(tzinfo=None))
        if ward:
            query = query.where(payments.c.ward == ward)
        with reading(self.engine) as conn:
            rows = conn.execute(query).mappings().all()
        ours = [LedgerEntry(r["reference"], r["amount_yen"], PaymentState(r["state"]),
                            r["procedure"], r["method"], r["external_ref"] or "")
                for r in rows]
        theirs: list[LedgerEntry] | None = None
        provider_error = None
        if with_provider and self.provider is not None:
            try:
                remote: dict[str, ProviderPayment] = {}
                ours_code = tuple(r["reference"] for r in rows
                                  if r["method"] == PaymentMethod.CODE.value)
                for d in {start.date(), (end - timedelta(seconds=1)).date()}:
                    for p in self.provider.settlements(d, ours_code):
                        if start.timestamp() <= p.created_at < end.timestamp():
                            remote[p.merchant_payment_id] = p
                wards = {r["reference"] for r in rows}
                theirs = [LedgerEntry(p.merchant_payment_id, p.amount_yen, p.state)
                          for p in remote.values()
                          if not ward or p.merchant_payment_id in wards
                          or p.merchant_payment_id.startswith(f"{ward}-")]
            except ProviderError as exc:
                provider_error = str(exc)
        result = reconcile(ours, theirs)
        till: list[LedgerEntry] | None = None
        if journal is not None:
            try:
                till = [e for e, tx in zip(terminal_journal(journal), journal, strict=True)
                        if _on_day(tx.get("timestamp"), start, end)
                        and _for_ward(e.reference, ward)]
            except JournalError as exc:
                raise Invalid("validation_error", f"terminal journal: {exc}") from None
        on_till = reconcile(ours, till, (PaymentMethod.TERMINAL.value,), "terminal")
        mismatches = [_mismatch(m, "provider") for m in result.mismatches]
        mismatches += [_mismatch(m, "terminal") for m in on_till.mismatches]
        return {
            "date": day.isoformat(), "ward": ward, "total_yen": result.total_yen,
            "provider_checked": theirs is not None, "provider_error": provider_error,
            "terminal_checked": till is not None,
            "ok": result.ok and theirs is not None and on_till.ok,
            "rows": [{"procedure": r.procedure, "method": r.method, "count": r.count,
                      "amount_yen": r.amount_yen} for r in result.rows],
            "mismatches": mismatches,
        }


_OUR_REFERENCE = re.compile(r"(.+)-\d+-[0-9a-f]{8}")


def _for_ward(reference: str, ward: str | None) -> bool:
    """A ward's report leaves out another ward's payments of a shared terminal; a sale
    not made through us (keyed in at the terminal) is shown to every ward, never hidden."""
    ours = _OUR_REFERENCE.fullmatch(reference)
    return not ward or ours is None or ours.group(1) == ward


def _on_day(stamp: Any, start: datetime, end: datetime) -> bool:
    """A journal entry belongs to the day by its terminal timestamp; one still in
    progress has none and is always shown."""
    if not stamp:
        return True
    try:
        at = datetime.fromisoformat(str(stamp))
    except ValueError:
        raise Invalid("validation_error",
                      f"terminal journal: bad timestamp {str(stamp)[:40]!r}") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return start <= at < end


def _mismatch(m: Mismatch, source: str) -> dict[str, Any]:
    def side(e: LedgerEntry | None) -> dict[str, Any] | None:
        if e is None:
            return None
        out: dict[str, Any] = {"state": e.state.value, "amount_yen": e.amount_yen}
        if source == "terminal":
            out["transaction_id"] = e.transaction_id
        return out
    return {"reference": m.reference, "problem": m.problem, "source": source,
            "ours": side(m.ours), source: side(m.theirs)}
