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

Over 400 lines: writing a message, sending the due ones in order (batched where the API
batches) and applying each answer work on one table within the same transactions.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from kiosk.sync.client import RETRY_STATUS, BackofficeClient, Rejected, Unreachable
from kiosk.sync.sealing import Sealer, SealError
from kiosk.sync.store import Store, outbox, tickets

log = logging.getLogger(__name__)

TICKETS = "/api/v1/tickets"
BATCH = "/api/v1/tickets/batch"     # docs/api.md §4; older back-offices answer 404/405
LOOKUP = "/api/v1/tickets/by-key"   # docs/api-requests-sync.md #1 (a)
BATCH_ITEMS = 100                   # the back-office takes at most this many per batch
BATCH_BYTES = 192 * 1024            # under its default max_body_bytes (256 KiB); 413 halves
BATCH_ITEM_S = 0.05                 # read timeout added per item of a batch
PROBE = 3                           # single requests tried before the rest of a wave
MIN_ITEMS = 25                      # no smaller batches just to have more in flight
REPROBE_S = 900.0                   # try the batch again this long after a 404/405


# The personal part of a ticket: one application (a dict) or, for a routed visit, one
# per procedure (a list). Sealed as it is; its shape says which body field it fills.
Personal = dict[str, Any] | list[dict[str, Any]] | None


def with_personal(personal: Any) -> dict[str, Any]:
    """The body fields for a ticket's personal part: application / applications."""
    if personal is None:
        return {}
    return {"applications" if isinstance(personal, list) else "application": personal}


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


def purge_dead(conn: Connection, written_before: float) -> int:
    """Delete the messages the back-office refused for good that were written before
    `written_before` (wall clock): their sealed personal data goes with the row (the
    store's secure_delete zeroes it; the caller truncates the WAL). Returns how many."""
    result = conn.execute(outbox.delete().where(outbox.c.dead.is_(True),
                                                outbox.c.created_at < written_before))
    return int(result.rowcount or 0)


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
    """Drains the outbox. One `drain()` sends what is due, a wave at a time: offline tickets
    in one `POST /tickets/batch` (up to `batch` of them), everything else one request per
    message, a few in flight."""

    def __init__(self, store: Store, client: BackofficeClient, sealer: Sealer, *,
                 batch: int = 100, parallel: int = 4,
                 on_result: Callable[[bool], None] | None = None) -> None:
        self.store = store
        self.client = client
        self.sealer = sealer
        self.batch = batch
        self.parallel = parallel
        self.on_result = on_result     # called with True (reached) / False (unreachable)
        self.requests: Counter[str] = Counter()   # requests sent: "batch", "single"
        self.batch_upload = True       # False: one request per ticket (for measuring)
        self._lookup: bool | None = None
        self._no_batch_until = 0.0     # monotonic: the back-office has no batch endpoint
        self._batch_answered = False   # a batch was answered: the endpoint exists
        self._probes = 0               # calls of _one_by_one: which messages probe next
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="outbox")
        # Batches wait on single sends of their own (fallbacks): not on the same pool.
        self._batches = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="batch")

    def close(self) -> None:
        self._batches.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _batching(self) -> bool:
        return self.batch_upload and self.batch >= 2 and time.monotonic() >= self._no_batch_until

    def _due(self) -> list[Message]:
        # Batching: enough for a batch per request in flight.
        limit = self.batch * self.parallel if self._batching() else self.batch
        with self.store.read() as conn:
            rows = conn.execute(
                select(outbox).where(outbox.c.dead.is_(False),
                                     outbox.c.not_before <= time.time())
                .order_by(outbox.c.id).limit(limit)).mappings().all()
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
            outcomes = self._send_wave(wave)
            self._apply(outcomes)
            acked += sum(o.status == "ack" for o in outcomes)
            stuck = [o for o in outcomes if o.status == "retry"]
            failed += len(stuck)
            if stuck:
                break
        return acked, failed

    def _send_wave(self, wave: list[Message]) -> list[Outcome]:
        batchable = [m for m in wave if m.kind == "ticket"]
        if len(batchable) < 2 or not self._batching():
            return self._one_by_one(wave)
        others = [self._pool.submit(self._send, m) for m in wave if m.kind != "ticket"]
        outcomes = self._send_tickets(batchable)
        return outcomes + [f.result() for f in others]

    # -- offline tickets, many per request (docs/api.md §4 POST /tickets/batch) ------------
    def _send_tickets(self, ms: list[Message]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        items: list[tuple[Message, dict[str, Any]]] = []
        for m in ms:
            try:
                items.append((m, {"idempotency_key": m.key, **self._upload_body(m)}))
            except SealError as exc:
                outcomes.append(Outcome(m, "dead", error=str(exc)))
        if not items:
            return outcomes
        # A few batches in flight: a PostgreSQL back-office writes them side by side.
        n = len(items)
        requests = max(math.ceil(n / min(self.batch, BATCH_ITEMS)),
                       min(self.parallel, math.ceil(n / MIN_ITEMS)))
        chunks = _chunks(items, math.ceil(n / requests), BATCH_BYTES)
        if not self._batch_answered:
            # Ask once whether this back-office has the batch upload, then go wide.
            first = self._send_batch(chunks.pop(0))
            outcomes += first
            rest = [m for chunk in chunks for m, _ in chunk]
            if all(o.status == "retry" for o in first):    # unreachable: try later
                return outcomes + [Outcome(m, "retry", error=first[0].error) for m in rest]
            if not self._batching():
                return outcomes + self._one_by_one(rest)
        sent = self._batches.map(self._send_batch, chunks)
        return outcomes + [o for batch in sent for o in batch]

    def _send_batch(self, chunk: list[tuple[Message, dict[str, Any]]]) -> list[Outcome]:
        ms = [m for m, _ in chunk]
        b = self.client.settings
        self.requests["batch"] += 1
        try:
            # The back-office handles the items one after the other: give it time for all.
            answer = self.client.post(BATCH, {"items": [body for _, body in chunk]},
                                      timeout=(b.connect_timeout,
                                               b.read_timeout + BATCH_ITEM_S * len(chunk)))
        except Unreachable as exc:
            if exc.status == 500 and len(chunk) > 1:
                # The back-office failed on something in there: alone, the others get
                # through and only the culprit keeps failing (as on the single path).
                log.warning("outbox: the back-office failed on a batch (%s); sending its "
                            "%d tickets one by one", exc, len(chunk))
                return self._one_by_one(ms)
            if self.on_result:
                self.on_result(False)
            return [Outcome(m, "retry", error=str(exc)) for m in ms]
        except Rejected as exc:
            if exc.status == 413 and len(chunk) > 1:
                half = len(chunk) // 2
                return self._send_batch(chunk[:half]) + self._send_batch(chunk[half:])
            bad = _invalid_items(exc, len(chunk))
            if bad and len(bad) < len(chunk):
                # Some items failed the body's validation: those alone get their own
                # verdict, the others go on together.
                log.warning("outbox: %d item(s) of a batch are malformed (%s); sending them "
                            "alone", len(bad), exc)
                rest = [item for i, item in enumerate(chunk) if i not in bad]
                alone = self._pool.map(self._send, [chunk[i][0] for i in sorted(bad)])
                return self._send_batch(rest) + list(alone)
            if exc.status in (404, 405):
                log.warning("outbox: the back-office has no batch upload (%s); sending one "
                            "request per ticket", exc)
                self._no_batch_until = time.monotonic() + REPROBE_S
                self._batch_answered = False
            else:
                # A refusal of the whole request (e.g. one malformed item fails the body's
                # validation): each ticket alone gets its own verdict.
                log.warning("outbox: the back-office refused a batch (%s); sending its %d "
                            "tickets one by one", exc, len(chunk))
            return self._one_by_one(ms)
        if self.on_result:
            self.on_result(True)
        self._batch_answered = True
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(chunk):
            log.error("outbox: unexpected answer to a batch of %d; sending them one by one",
                      len(chunk))
            return self._one_by_one(ms)
        outcomes: list[Outcome] = []
        without_application: list[Future[Outcome]] = []
        for m, result in zip(ms, results, strict=True):
            verdict = _item_outcome(m, result)
            if verdict is None:
                _log_without_application(m, result)
                without_application.append(self._pool.submit(self._send, m, False))
            else:
                outcomes.append(verdict)
        return outcomes + [f.result() for f in without_application]

    def _one_by_one(self, ms: list[Message]) -> list[Outcome]:
        """Each message in a request of its own, a few in flight. When the first few all
        fail to get through, the back-office is down (not one bad item): the rest waits
        for the next try instead of hammering it. Each try probes with the next few (the
        messages go in parallel anyway): always the same ones, a few tickets the
        back-office fails on would hold every other ticket back for good."""
        start = self._probes * PROBE % len(ms) if ms else 0
        self._probes += 1
        ms = ms[start:] + ms[:start]
        head = [self._send(m) for m in ms[:PROBE]]
        if head and all(o.status == "retry" for o in head):
            return head + [Outcome(m, "retry", error=head[0].error) for m in ms[PROBE:]]
        return head + list(self._pool.map(self._send, ms[PROBE:]))

    # -- sending one message ------------------------------------------------------------
    def _send(self, m: Message, with_application: bool = True) -> Outcome:
        try:
            if m.kind == "ticket":
                answer = self._send_ticket(m, with_application)
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

    def _upload_body(self, m: Message, with_application: bool = True) -> dict[str, Any]:
        """The POST /tickets body of an offline ticket, its application unsealed."""
        body = dict(m.payload["body"])
        if with_application and m.sealed is not None:
            body.update(with_personal(self.sealer.open(m.sealed, m.key)))
        body["offline"] = m.payload["offline"]
        return body

    def _send_ticket(self, m: Message, with_application: bool = True) -> Any:
        body = self._upload_body(m, with_application)
        self.requests["single"] += 1
        try:
            return self.client.post(TICKETS, body, idempotency_key=m.key)
        except Rejected as exc:
            if exc.code != "invalid_application" or not {"application",
                                                          "applications"} & body.keys():
                raise
            # The ticket must reach the queue even if the form does not validate there
            # (catalog changed meanwhile): staff fill the form in at the counter.
            _log_without_application(m, exc)
            body.pop("application", None)
            body.pop("applications", None)
            self.requests["single"] += 1
            return self.client.post(TICKETS, body, idempotency_key=m.key)

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


def _chunks(items: list[tuple[Message, dict[str, Any]]], most: int, max_bytes: int
            ) -> list[list[tuple[Message, dict[str, Any]]]]:
    """Consecutive runs of at most `most` items and about `max_bytes` of JSON each."""
    out: list[list[tuple[Message, dict[str, Any]]]] = []
    size = 0
    for item in items:
        n = len(json.dumps(item[1], ensure_ascii=False).encode())
        if not out or len(out[-1]) >= most or (size + n > max_bytes and out[-1]):
            out.append([])
            size = 0
        out[-1].append(item)
        size += n
    return out


def _invalid_items(exc: Rejected, n: int) -> set[int]:
    """Which items a 422 of the batch named (`details.errors[].loc` = body, items, i, …)."""
    if exc.status != 422 or not isinstance(exc.details, dict):
        return set()
    bad: set[int] = set()
    for error in exc.details.get("errors") or []:
        loc = error.get("loc") if isinstance(error, dict) else None
        if not isinstance(loc, list) or len(loc) < 3 or loc[:2] != ["body", "items"]:
            return set()            # not about one item: the whole request is wrong
        index = str(loc[2])
        if not index.isdigit() or int(index) >= n:
            return set()
        bad.add(int(index))
    return bad


def _item_outcome(m: Message, result: Any) -> Outcome | None:
    """The outcome of one item of a batch answer; None: resend it without its application."""
    if not isinstance(result, dict) or not isinstance(result.get("status"), int):
        return Outcome(m, "retry", error=f"batch: malformed result {str(result)[:200]}")
    status = result["status"]
    if status in (200, 201) and isinstance(result.get("ticket"), dict):
        return Outcome(m, "ack", answer=result["ticket"])
    error = (f"{status} {result.get('error', f'http_{status}')}: "
             f"{str(result.get('message', ''))[:500]}")
    if status in RETRY_STATUS or status >= 500 or status == 401 or status < 400:
        return Outcome(m, "retry", error=error)
    if status == 422 and result.get("error") == "invalid_application" and m.sealed is not None:
        return None
    return Outcome(m, "dead", error=error)


def _log_without_application(m: Message, why: Any) -> None:
    if isinstance(why, dict):
        why = f"{why.get('status')} {why.get('error')}: {why.get('message', '')}"
    log.warning("ticket %s: back-office refused its application (%s); "
                "sending the ticket without it", m.payload["offline"]["number"], why)
