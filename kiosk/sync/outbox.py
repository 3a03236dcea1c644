"""The outbox: messages the back-office must receive, written in the same local
transaction as the ticket they belong to, sent in order and retried until acknowledged.

Exactly-once as seen by the back-office comes from idempotency keys: every message
carries one, fixed when it is written, and a retry (after a lost answer, a restart, a
duplicate delivery) repeats it, so the back-office answers the same ticket again
instead of creating another.

Kinds:
- ``ticket``: an offline-issued ticket (``POST /tickets`` with ``offline``); its
  application record, if any, is sealed (AES-GCM) until the back-office has it.
- ``void``: a ticket that may have reached the back-office but was never handed out
  (answer lost, kiosk killed mid-issue): find out whether it arrived and, if so,
  cancel it there.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from kiosk.sync.client import BackofficeClient, Rejected, Unreachable
from kiosk.sync.sealing import Sealer, SealError
from kiosk.sync.store import Store, outbox, tickets

log = logging.getLogger(__name__)

LOOKUP = "/api/v1/tickets/by-key"   # docs/api-requests-sync.md #1 (a)


def enqueue(conn: Connection, *, kind: str, key: str, ticket_key: str | None,
            payload: Mapping[str, Any], sealed: bytes | None = None,
            not_before: float = 0.0) -> None:
    conn.execute(outbox.insert().values(
        key=key, kind=kind, ticket_key=ticket_key,
        payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        sealed=sealed, created_at=time.time(), not_before=not_before, attempts=0))


def counts(conn: Connection) -> tuple[int, int]:
    """(pending, dead) message counts."""
    query = select(outbox.c.dead, func.count()).group_by(outbox.c.dead)
    rows: dict[bool, int] = dict(conn.execute(query).all())
    return int(rows.get(False, 0)), int(rows.get(True, 0))


@dataclass
class Message:
    id: int
    key: str
    kind: str
    ticket_key: str | None
    payload: dict[str, Any]
    sealed: bytes | None
    attempts: int


@dataclass
class Outcome:
    message: Message
    status: str                 # "ack" | "retry" | "dead"
    answer: Any = None
    error: str = ""


class Sender:
    """Drains the outbox. One `drain()` sends what is due, a few messages at a time."""

    def __init__(self, store: Store, client: BackofficeClient, sealer: Sealer, *,
                 batch: int = 100, parallel: int = 4,
                 on_result: Callable[[bool], None] | None = None) -> None:
        self.store = store
        self.client = client
        self.sealer = sealer
        self.batch = batch
        self.on_result = on_result     # called with True (reached) / False (unreachable)
        self._lookup: bool | None = None
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="outbox")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _due(self) -> list[Message]:
        with self.store.read() as conn:
            rows = conn.execute(
                select(outbox).where(outbox.c.dead.is_(False),
                                     outbox.c.not_before <= time.time())
                .order_by(outbox.c.id).limit(self.batch)).mappings().all()
        return [Message(id=r["id"], key=r["key"], kind=r["kind"], ticket_key=r["ticket_key"],
                        payload=json.loads(r["payload"]), sealed=r["sealed"],
                        attempts=r["attempts"]) for r in rows]

    def drain(self, budget_s: float = 5.0) -> tuple[int, int]:
        """Send due messages until none is due, one fails to get through, or time is up.
        Returns (acknowledged, still failing)."""
        end = time.monotonic() + budget_s
        acked = failed = 0
        while time.monotonic() < end:
            due = self._due()
            if not due:
                break
            # One message per ticket per wave: later messages of a ticket wait for it.
            wave: list[Message] = []
            seen: set[str] = set()
            for m in due:
                if m.ticket_key is not None and m.ticket_key in seen:
                    continue
                if m.ticket_key is not None:
                    seen.add(m.ticket_key)
                wave.append(m)
            outcomes = list(self._pool.map(self._send, wave))
            self._apply(outcomes)
            acked += sum(o.status == "ack" for o in outcomes)
            stuck = [o for o in outcomes if o.status == "retry"]
            failed += len(stuck)
            if stuck:
                break
        return acked, failed

    # -- sending one message ------------------------------------------------------------
    def _send(self, m: Message) -> Outcome:
        try:
            if m.kind == "ticket":
                answer = self._send_ticket(m)
            elif m.kind == "void":
                answer = self._send_void(m)
            else:
                return Outcome(m, "dead", error=f"unknown message kind {m.kind!r}")
        except Unreachable as exc:
            if self.on_result:
                self.on_result(False)
            return Outcome(m, "retry", error=str(exc))
        except Rejected as exc:
            if self.on_result:
                self.on_result(True)
            return Outcome(m, "dead", error=str(exc))
        except SealError as exc:
            return Outcome(m, "dead", error=str(exc))
        if self.on_result:
            self.on_result(True)
        return Outcome(m, "ack", answer=answer)

    def _has_lookup(self) -> bool:
        """Does this back-office offer the lookup by key? (its OpenAPI document says)"""
        if self._lookup is None:
            paths = self.client.get("/openapi.json", attempts=1).get("paths", {})
            self._lookup = any(p.startswith(LOOKUP + "/") for p in paths)
        return self._lookup

    def _ticket_body(self, m: Message, with_application: bool = True) -> dict[str, Any]:
        body = dict(m.payload["body"])
        if with_application and m.sealed is not None:
            body["application"] = self.sealer.open(m.sealed, m.key)
        return body

    def _send_ticket(self, m: Message) -> Any:
        body = self._ticket_body(m)
        body["offline"] = m.payload["offline"]
        try:
            return self.client.post("/api/v1/tickets", body, idempotency_key=m.key)
        except Rejected as exc:
            if exc.code != "invalid_application" or "application" not in body:
                raise
            # The ticket must reach the queue even if the form does not validate there
            # (catalog changed meanwhile): staff fill the form in at the counter.
            log.warning("ticket %s: back-office refused its application (%s); "
                        "sending the ticket without it", m.payload["offline"]["number"], exc)
            del body["application"]
            return self.client.post("/api/v1/tickets", body, idempotency_key=m.key)

    def _send_void(self, m: Message) -> Any:
        """Withdraw a ticket nobody holds, if the lost request created it.

        Asks by key (docs/api-requests-sync.md #1: nothing is created), then cancels it.
        A back-office without that lookup cannot tell us without creating the ticket
        when it never arrived; the message is then kept as refused, for the log."""
        if not self._has_lookup():
            raise Rejected(404, "no_lookup", "the back-office cannot look a ticket up by "
                           "key (docs/api-requests-sync.md #1); it may hold a ticket nobody has")
        try:
            ticket = self.client.get(f"{LOOKUP}/{m.key}", attempts=1)
        except Rejected as exc:
            if exc.status != 404:
                raise
            log.info("withdrawn ticket %s never reached the back-office", m.key[:8])
            return {"status": "never_arrived"}
        if ticket.get("status") != "cancelled":
            log.warning("ticket %s reached the back-office but nobody holds it; cancelling",
                        ticket.get("number"))
            ticket = self.client.post(f"/api/v1/tickets/{ticket['id']}/cancel",
                                      {"note": "never handed out by the kiosk"})
        return ticket

    # -- recording outcomes -------------------------------------------------------------
    def _apply(self, outcomes: list[Outcome]) -> None:
        """All outcomes of a wave in one transaction (one fsync, not one per message)."""
        with self.store.write() as conn:
            for o in outcomes:
                m = o.message
                if o.status == "ack":
                    # Deleting the row deletes the sealed personal data with it.
                    conn.execute(outbox.delete().where(outbox.c.id == m.id))
                    if m.kind == "ticket" and isinstance(o.answer, dict):
                        conn.execute(tickets.update().where(tickets.c.key == m.ticket_key)
                                     .values(acked=True, server_id=str(o.answer.get("id")),
                                             status_url=o.answer.get("status_url")))
                elif o.status == "retry":
                    conn.execute(outbox.update().where(outbox.c.id == m.id)
                                 .values(attempts=m.attempts + 1, last_error=o.error[:500]))
                elif o.status == "dead":
                    log.error("outbox: the back-office refused %s %s for good: %s",
                              m.kind, m.key, o.error)
                    conn.execute(outbox.update().where(outbox.c.id == m.id)
                                 .values(dead=True, attempts=m.attempts + 1,
                                         last_error=o.error[:500]))
