"""Notifications to residents, without HTTP (issue #19): who opted in, what is due, the
outbox the delivery worker (notify_worker.py) sends from.

* **Opt-in** on the phone page, keyed by the ticket's status token (no account): a Web Push
  subscription or an e-mail address, kept only while the ticket lives (`purge`).
* **A booking's e-mail** (the contact given on the booking page, when it is an address):
  the confirmation at once, the reminder the day before from `[notify] reminder_hour`
  (`schedule_reminders`, the worker's timer); the address is deleted once the reminder
  went (or the booking ended).
* **The queue only inserts rows**: `on_event` runs inside the audit-trail write of a call,
  cancel, transfer … (engine/audit.record), in the same transaction; delivery happens
  later, in the worker, so a push service or relay that is down never slows the queue.
* Each notice is once-only (`dedupe`, a unique key): "N ahead" once per ticket and queue,
  "called" once per call / recall, across server processes.
* `data` carries the ticket number, counter, ward, service and times only.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import office_day, utcnow
from kiosk.backoffice.config_notify import valid_email
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine.errors import conflict, invalid, not_found
from kiosk.backoffice.engine.lookups import T, people_ahead

S = m.notify_subscriptions
O = m.notify_outbox  # noqa: E741
A = m.appointments
P = m.remote_places

CHANNELS = ("push", "email")
MAX_PER_TICKET = 5  # subscriptions per ticket and channel
# Events after which someone's place in a queue may have moved up.
_MOVES = frozenset({"ticket.called", "ticket.cancelled", "ticket.transferred", "ticket.held",
                    "ticket.no_show", "visit.stage_completed"})
_CALLS = frozenset({"ticket.called", "ticket.recalled"})
_TICKET_LIVE = ("waiting", "called", "serving", "held", "no_show")


# ------------------------------------------------------------------ opt-in (phone page)
def _live_ticket(bo: Backoffice, conn: Connection, token: str) -> Any:
    from kiosk.backoffice.engine.views import status_ended

    row = conn.execute(select(T).where(T.c.status_token == token)).first()
    if row is None or not 20 <= len(token) <= 64:
        raise not_found("that ticket")
    if row.status not in _TICKET_LIVE or status_ended(bo, conn, row):
        raise conflict("ticket_ended", "this ticket has ended; nothing more will be sent")
    return row


def _check_target(bo: Backoffice, channel: str, target: str, p256dh: str | None,
                  auth: str | None) -> None:
    n = bo.settings.notify
    if channel == "push":
        if not n.push_on:
            raise conflict("push_off", "this office does not send push notifications")
        if not n.push_allowed(target):
            raise invalid("unknown_push_service", "the subscription's endpoint is not a push "
                          "service this office sends to", field="endpoint")
        _check_keys(p256dh or "", auth or "")
    elif channel == "email":
        if not n.email_on:
            raise conflict("email_off", "this office does not send e-mail")
        if not valid_email(target):
            raise invalid("validation_error", "not an e-mail address", field="address")


def _add(conn: Connection, owner: Any, ward: str, channel: str, target: str, language: str,
         now: datetime, p256dh: str | None, auth: str | None, **key: int) -> int:
    """One subscription of a ticket or a place (`key`: its column and id), replacing the
    same target's earlier one; at most MAX_PER_TICKET per owner and channel."""
    _forget(conn, list(conn.execute(select(S.c.id).where(
        owner, S.c.channel == channel, S.c.target == target)).scalars()))
    have = conn.execute(select(func.count()).select_from(S).where(
        owner, S.c.channel == channel)).scalar_one()
    if have >= MAX_PER_TICKET:  # a few phones of one family, not a relay for a crowd
        raise conflict("too_many_subscriptions", f"a ticket or place takes at most "
                       f"{MAX_PER_TICKET} of these; stop one first")
    return int(conn.execute(S.insert().values(
        ward=ward, channel=channel, target=target, p256dh=p256dh, auth=auth,
        language=language, created_at=now, **key).returning(S.c.id)).scalar_one())


def subscribe(bo: Backoffice, token: str, channel: str, target: str, language: str, *,
              p256dh: str | None = None, auth: str | None = None) -> dict[str, Any]:
    """Opt a ticket into push or e-mail notices (replacing the same target's earlier one)."""
    _check_target(bo, channel, target, p256dh, auth)
    now = utcnow()
    with writing(bo.engine) as conn:
        row = _live_ticket(bo, conn, token)
        sub_id = _add(conn, S.c.ticket_id == row.id, row.ward, channel, target, language, now,
                      p256dh, auth, ticket_id=row.id)
        if row.status == "waiting":  # already near the front: say so at once
            _queue_ahead(bo, conn, row, [(sub_id, channel, language)], now)
    return {"channel": channel, "subscribed": True, "ahead": bo.settings.notify.ahead}


def _place(bo: Backoffice, conn: Connection, code: str, live: bool) -> Any:
    from kiosk.backoffice.engine.remote import find

    row = find(bo, code, conn)
    if live and row.status != "waiting":
        raise conflict("place_ended", "this place is no longer waiting; nothing more will "
                       "be sent")
    return row


def subscribe_place(bo: Backoffice, code: str, channel: str, target: str, language: str, *,
                    p256dh: str | None = None, auth: str | None = None) -> dict[str, Any]:
    """Opt a place from home (by its code) into the "almost your turn: check in by HH:MM"
    notice; sent at once if the place is already almost its turn."""
    _check_target(bo, channel, target, p256dh, auth)
    now = utcnow()
    with writing(bo.engine) as conn:
        row = _place(bo, conn, code, live=True)
        sub_id = _add(conn, S.c.remote_place_id == row.id, row.ward, channel, target,
                      language, now, p256dh, auth, remote_place_id=row.id)
        if row.almost_at is not None:
            by = row.almost_at + timedelta(minutes=bo.settings.remote.check_in_minutes)
            _queue_almost(bo, conn, [(sub_id, channel, language)], row.id, row.ward,
                          row.service, by, now)
    return {"channel": channel, "subscribed": True, "ahead": bo.settings.remote.almost_ahead}


def unsubscribe_place(bo: Backoffice, code: str, channel: str) -> dict[str, Any]:
    with writing(bo.engine) as conn:
        row = _place(bo, conn, code, live=False)
        _forget(conn, list(conn.execute(select(S.c.id).where(
            S.c.remote_place_id == row.id, S.c.channel == channel)).scalars()))
    return {"channel": channel, "subscribed": False, "ahead": bo.settings.remote.almost_ahead}


def state_place(bo: Backoffice, code: str) -> dict[str, Any]:
    n = bo.settings.notify
    with reading(bo.engine) as conn:
        row = _place(bo, conn, code, live=False)
        have = set(conn.execute(select(S.c.channel).where(
            S.c.remote_place_id == row.id)).scalars())
    return {"push": "push" in have, "email": "email" in have, "push_available": n.push_on,
            "email_available": n.email_on, "ahead": bo.settings.remote.almost_ahead}


def _check_keys(p256dh: str, auth: str) -> None:
    """The browser's keys: a P-256 point (65 bytes) and a 16-byte secret, base64url."""
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        point = base64.urlsafe_b64decode(p256dh + "=" * (-len(p256dh) % 4))
        secret = base64.urlsafe_b64decode(auth + "=" * (-len(auth) % 4))
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise invalid("validation_error", "keys.p256dh is not a P-256 public key",
                      field="keys.p256dh") from None
    if len(point) != 65 or len(secret) != 16:
        raise invalid("validation_error", "keys: a 65-byte p256dh and a 16-byte auth",
                      field="keys")


def unsubscribe(bo: Backoffice, token: str, channel: str) -> dict[str, Any]:
    with writing(bo.engine) as conn:
        row = conn.execute(select(T.c.id).where(T.c.status_token == token)).first()
        if row is None:
            raise not_found("that ticket")
        ids = list(conn.execute(select(S.c.id).where(S.c.ticket_id == row.id,
                                                     S.c.channel == channel)).scalars())
        _forget(conn, ids)
    return {"channel": channel, "subscribed": False, "ahead": bo.settings.notify.ahead}


def state(bo: Backoffice, token: str) -> dict[str, Any]:
    n = bo.settings.notify
    with reading(bo.engine) as conn:
        row = conn.execute(select(T.c.id).where(T.c.status_token == token)).first()
        if row is None or not 20 <= len(token) <= 64:
            raise not_found("that ticket")
        have = set(conn.execute(select(S.c.channel).where(S.c.ticket_id == row.id)).scalars())
    return {"push": "push" in have, "email": "email" in have, "push_available": n.push_on,
            "email_available": n.email_on, "ahead": n.ahead}


def _forget(conn: Connection, ids: list[int]) -> None:
    """Delete subscriptions; their undelivered rows are dropped (never sent)."""
    if not ids:
        return
    conn.execute(update(O).where(O.c.subscription_id.in_(ids), O.c.status == "pending")
                 .values(status="dropped"))
    conn.execute(delete(S).where(S.c.id.in_(ids)))


# ------------------------------------------------------------------ the queue's side
def _insert(bo: Backoffice, conn: Connection, values: dict[str, Any]) -> None:
    ins = (pg_insert if bo.is_pg else sqlite_insert)(O).values(**values)
    conn.execute(ins.on_conflict_do_nothing(index_elements=["dedupe"]))


def _row(sub: tuple[int, str, str], ward: str, kind: str, data: dict[str, Any],
         dedupe: str, now: datetime) -> dict[str, Any]:
    sub_id, channel, language = sub
    return {"subscription_id": sub_id, "ward": ward, "channel": channel, "kind": kind,
            "language": language, "data": data, "dedupe": dedupe[:120], "status": "pending",
            "attempts": 0, "next_at": now, "created_at": now}


def _ticket_data(row: Any) -> dict[str, Any]:
    return {"number": row.label, "ward": row.ward, "service": row.service}


def _queue_ahead(bo: Backoffice, conn: Connection, row: Any,
                 subs: list[tuple[int, str, str]], now: datetime,
                 ahead: int | None = None) -> None:
    if ahead is None:
        ahead = people_ahead(conn, row)
    if ahead > bo.settings.notify.ahead:
        return
    stage = row.stage or 0
    for sub in subs:
        _insert(bo, conn, _row(sub, row.ward, "ahead", {**_ticket_data(row), "n": ahead},
                               f"ahead:{sub[0]}:{row.service}:{stage}", now))


def _queue_almost(bo: Backoffice, conn: Connection, subs: list[tuple[int, str, str]],
                  place_id: int, ward: str, service: str, check_in_by: datetime,
                  now: datetime) -> None:
    data = {"ward": ward, "service": service,
            "check_in_by": check_in_by.replace(tzinfo=UTC).isoformat()}
    for sub in subs:
        _insert(bo, conn, _row(sub, ward, "almost", data, f"almost:{sub[0]}:{place_id}", now))


def on_place_almost(bo: Backoffice, conn: Connection, place_id: int, ward: str, service: str,
                    check_in_by: datetime, now: datetime) -> None:
    """In `remote.sweep`'s transaction, when a place becomes almost its turn: "check in at
    a kiosk by HH:MM" to its subscriptions (usually none)."""
    if not bo.settings.notify.enabled:
        return
    subs = [(i, c, lang) for i, c, lang in conn.execute(
        select(S.c.id, S.c.channel, S.c.language).where(S.c.remote_place_id == place_id))]
    _queue_almost(bo, conn, subs, place_id, ward, service, check_in_by, now)


def on_event(bo: Backoffice, conn: Connection, type_: str, ward: str, service: str | None,
             ticket: Any | None, counter: int | None, data: dict[str, Any] | None) -> None:
    """In the transaction of a queue change: the outbox rows it makes due (usually none)."""
    if not bo.settings.notify.enabled or ticket is None:
        return
    now = utcnow()
    if type_ in _CALLS and counter is not None:
        for sub_id, channel, language in conn.execute(
                select(S.c.id, S.c.channel, S.c.language).where(S.c.ticket_id == ticket.id)):
            _insert(bo, conn, _row(
                (sub_id, channel, language), ticket.ward, "called",
                {**_ticket_data(ticket), "counter": counter},
                f"called:{sub_id}:{ticket.stage or 0}:{ticket.recall_count}:{counter}:"
                f"{ticket.called_at:%Y%m%d%H%M%S}", now))
    if type_ not in _MOVES:
        return
    n = bo.settings.notify.ahead
    for queue in {q for q in (service, (data or {}).get("from_service")) if q}:
        # Only the first n + 1 of the queue can be n or fewer ahead: one short read of the
        # queue's head (the call-next order), then its opted-in tickets.
        head = list(conn.execute(
            select(T).where(T.c.ward == ward, T.c.service == queue, T.c.status == "waiting")
            .order_by(T.c.rank, T.c.queue_at, T.c.id).limit(n + 1)))
        if not head:
            continue
        subs: dict[int, list[tuple[int, str, str]]] = {}
        for sub_id, ticket_id, channel, language in conn.execute(
                select(S.c.id, S.c.ticket_id, S.c.channel, S.c.language).where(
                    S.c.ticket_id.in_([h.id for h in head]))):
            subs.setdefault(ticket_id, []).append((sub_id, channel, language))
        for ahead, row in enumerate(head):
            if row.id in subs:
                _queue_ahead(bo, conn, row, subs[row.id], now, ahead)


# ------------------------------------------------------------------ bookings (e-mail)
def on_booking(bo: Backoffice, conn: Connection, booking: Any, contact: str) -> None:
    """A confirmed booking whose contact is an e-mail address: keep the address until the
    reminder, and queue the confirmation (in the booking's transaction)."""
    address = contact.strip()
    if not bo.settings.notify.email_on or not valid_email(address):
        return
    now = utcnow()
    conn.execute(delete(S).where(S.c.appointment_id == booking.id))
    sub_id = conn.execute(S.insert().values(
        ward=booking.ward, appointment_id=booking.id, channel="email", target=address,
        language=booking.language, created_at=now).returning(S.c.id)).scalar_one()
    _insert(bo, conn, _row((sub_id, "email", booking.language), booking.ward, "confirmation",
                           _booking_data(booking), f"confirmation:{booking.id}:{sub_id}", now))


def _booking_data(booking: Any) -> dict[str, Any]:
    return {"ward": booking.ward, "service": booking.service,
            "slot_at": booking.slot_at.replace(tzinfo=UTC).isoformat()}


def schedule_reminders(bo: Backoffice, now: datetime | None = None) -> int:
    """The worker's timer: reminders for tomorrow's bookings, from `reminder_hour` local
    (`now`: the clock it decides by; the rows are due at once)."""
    stamp = utcnow()
    here = (now or stamp).replace(tzinfo=UTC).astimezone(bo.tz)
    if here.hour < bo.settings.notify.reminder_hour:
        return 0
    tomorrow = here.date() + timedelta(days=1)
    made = 0
    with writing(bo.engine) as conn:
        due = conn.execute(
            select(A, S.c.id.label("sub_id"), S.c.language.label("sub_language"))
            .select_from(S.join(A, A.c.id == S.c.appointment_id))
            .where(A.c.status == "booked", A.c.day == tomorrow, S.c.channel == "email")).all()
        for b in due:
            _insert(bo, conn, _row((b.sub_id, "email", b.sub_language), b.ward, "reminder",
                                   _booking_data(b), f"reminder:{b.id}:{b.sub_id}", stamp))
            made += 1
    return made


# ------------------------------------------------------------------ keeping it short
def purge(bo: Backoffice, now: datetime | None = None) -> int:
    """Delete what is no longer needed: subscriptions of tickets that ended (or of an
    earlier office day) and booking addresses once the reminder went or the booking ended —
    but never one with a row still pending; delivered rows after a week."""
    now = now or utcnow()
    today = office_day(now, bo.tz)
    busy = exists().where(O.c.subscription_id == S.c.id, O.c.status == "pending")
    reminded = exists().where(O.c.subscription_id == S.c.id, O.c.kind == "reminder",
                              O.c.status != "pending")
    ended_ticket = exists().where(T.c.id == S.c.ticket_id, or_(
        T.c.status.in_(("done", "cancelled")), T.c.day < today,
        T.c.application_purged_at.is_not(None)))
    ended_booking = exists().where(A.c.id == S.c.appointment_id, or_(
        A.c.status != "booked", A.c.slot_at < now))
    ended_place = exists().where(P.c.id == S.c.remote_place_id, or_(
        P.c.status != "waiting", P.c.day < today))
    with writing(bo.engine) as conn:
        ids = list(conn.execute(select(S.c.id).where(
            ~busy, or_(and_(S.c.ticket_id.is_not(None), ended_ticket),
                       and_(S.c.appointment_id.is_not(None),
                            or_(reminded, ended_booking)),
                       and_(S.c.remote_place_id.is_not(None), ended_place)))).scalars())
        _forget(conn, ids)
        conn.execute(delete(O).where(O.c.status != "pending",
                                     O.c.created_at < now - timedelta(days=7)))
    return len(ids)


# ------------------------------------------------------------------ the worker's side
def claim_due(bo: Backoffice, limit: int = 20, lease_seconds: float = 60.0,
              now: datetime | None = None) -> list[Any]:
    """Due rows with their subscription, each claimed by one conditional update (a row
    another process claimed first is skipped; a claim not finished in `lease_seconds` —
    a crash — becomes due again)."""
    now = now or utcnow()
    claimed = []
    with reading(bo.engine) as conn:  # idle polls take no write lock (SQLite: the queue's)
        due = conn.execute(select(O.c.id, O.c.next_at).where(
            O.c.status == "pending", O.c.next_at <= now).order_by(O.c.next_at, O.c.id)
            .limit(limit)).all()
    if not due:
        return []
    with writing(bo.engine) as conn:
        for d in due:
            if conn.execute(update(O).where(O.c.id == d.id, O.c.status == "pending",
                                            O.c.next_at == d.next_at).values(
                    next_at=now + timedelta(seconds=lease_seconds),
                    attempts=O.c.attempts + 1)).rowcount:
                claimed.append(d.id)
        if not claimed:
            return []
        return list(conn.execute(
            select(O, S.c.target, S.c.p256dh, S.c.auth, S.c.ticket_id)
            .select_from(O.outerjoin(S, S.c.id == O.c.subscription_id))
            .where(O.c.id.in_(claimed)).order_by(O.c.id)).all())


def finish(bo: Backoffice, row: Any, outcome: str, error: str | None = None,
           retry: bool = False, now: datetime | None = None) -> str:
    """Record one attempt: "sent"; "gone" (the subscription is deleted, the row dropped);
    "failed" — retried after a doubling wait while attempts remain, else given up."""
    now = now or utcnow()
    n = bo.settings.notify
    with writing(bo.engine) as conn:
        if outcome == "sent":
            conn.execute(update(O).where(O.c.id == row.id).values(
                status="sent", sent_at=now, last_error=None))
            return "sent"
        if outcome == "gone":
            conn.execute(update(O).where(O.c.id == row.id).values(
                status="dropped", last_error=(error or "")[:200]))
            if row.subscription_id is not None:
                _forget(conn, [row.subscription_id])
            return "dropped"
        if retry and row.attempts < n.max_attempts:
            wait = min(n.backoff_max_seconds, n.backoff_seconds * 2 ** (row.attempts - 1))
            conn.execute(update(O).where(O.c.id == row.id).values(
                status="pending", next_at=now + timedelta(seconds=wait),
                last_error=(error or "")[:200]))
            return "retry"
        conn.execute(update(O).where(O.c.id == row.id).values(
            status="failed", last_error=(error or "")[:200]))
        return "failed"


def counts(bo: Backoffice, ward: str) -> dict[str, dict[str, int]]:
    """Per status, per channel: what was sent, given up, dropped, still pending (numbers)."""
    with reading(bo.engine) as conn:
        rows = conn.execute(select(O.c.status, O.c.channel, func.count()).where(
            O.c.ward == ward).group_by(O.c.status, O.c.channel)).all()
    out: dict[str, dict[str, int]] = {s: {c: 0 for c in CHANNELS}
                                      for s in ("pending", "sent", "failed", "dropped")}
    for status, channel, n in rows:
        out.setdefault(status, {c: 0 for c in CHANNELS})[channel] = int(n)
    return out
