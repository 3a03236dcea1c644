"""A place in today's queue from home (issue #19): what a phone may take, the place and
its people ahead, cancel, and check-in at the kiosk — the rules in kiosk/domain/remote.py.

A place is not a ticket: it holds its spot in the walk-ins' line from the moment it was
taken and is never called. Checked in at a kiosk of its ward (the same code format and QR
as a booking, `WARDAPPT:<code>`), it becomes a ticket queued at that moment, so it is ahead
of everyone who came after. Its people ahead count the waiting tickets and the other
places taken before it. At the "almost your turn" point (`[remote] almost_ahead`) the
clock starts: not checked in within `[remote] check_in_minutes`, it is a no-show and the
code gives nothing (`sweep`, run on every read and write of the ward's places and on the
server's timer, `sweep_all`). The caps
(per hour, per address) hold across processes: takes of one service are serialised.
No personal data: the code is the key; the client's address is kept as a keyed hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, text, update

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import iso, office_day, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine import issuing
from kiosk.backoffice.engine.appointments import address_hash
from kiosk.backoffice.engine.errors import Forbidden, NotFound, conflict
from kiosk.backoffice.engine.lookups import is_open, people_ahead, service_estimate, ward_of
from kiosk.backoffice.engine.shapes import ticket_json
from kiosk.backoffice.principal import Principal
from kiosk.domain.appointments import new_code, normal_code
from kiosk.domain.catalog import Ward
from kiosk.domain.remote import RemoteRules, almost, hour_start, refusal

R = m.remote_places
T = m.tickets


def _rules(bo: Backoffice, ward: Ward, service: str) -> RemoteRules | None:
    svc = bo.catalog.services.get(service)
    if svc is None or service not in ward.services:
        return None
    return svc.remote


def _ahead(bo: Backoffice, conn: Connection, ward: str, service: str, taken_at: datetime,
           place_id: int | None = None) -> int:
    """Waiting tickets in front of a place taken at `taken_at`, and the places before it."""
    rank = bo.settings.queue.priority_rank["normal"]
    tickets = conn.execute(select(func.count()).select_from(T).where(
        T.c.ward == ward, T.c.service == service, T.c.status == "waiting",
        or_(T.c.rank < rank, and_(T.c.rank == rank, T.c.queue_at <= taken_at)))).scalar_one()
    places = conn.execute(select(func.count()).select_from(R).where(
        R.c.ward == ward, R.c.service == service, R.c.status == "waiting",
        R.c.taken_at <= taken_at, R.c.id != (place_id or 0))).scalar_one()
    return int(tickets) + int(places)


def sweep(bo: Backoffice, conn: Connection, ward: str, service: str, now: datetime) -> None:
    """The ward's waiting places: mark "almost your turn" (and queue its "check in by"
    notice for the place's subscriptions, in the same transaction), then no-shows (and any
    left from an earlier day). Places are taken in line order, so the people ahead never
    fall with a later place: the marking stops at the first place that is not almost its
    turn (a few counts, however many places wait). Safe in several processes at once: the
    marking is conditional (`almost_at IS NULL`) and the notice once-only (its dedupe)."""
    from kiosk.backoffice.engine import notify

    s = bo.settings.remote
    waiting = and_(R.c.ward == ward, R.c.service == service, R.c.status == "waiting")
    conn.execute(update(R).where(waiting, R.c.day < office_day(now, bo.tz))
                 .values(status="no_show"))
    rows = conn.execute(select(R.c.id, R.c.taken_at, R.c.almost_at).where(waiting)
                        .order_by(R.c.taken_at, R.c.id)).all()
    for row in rows:
        if row.almost_at is not None:
            continue
        if not almost(_ahead(bo, conn, ward, service, row.taken_at, row.id), s.almost_ahead):
            break
        if conn.execute(update(R).where(R.c.id == row.id, R.c.almost_at.is_(None))
                        .values(almost_at=now)).rowcount:
            notify.on_place_almost(bo, conn, row.id, ward, service,
                                   now + timedelta(minutes=s.check_in_minutes), now)
    # missed(now, almost_at, check_in_minutes) in SQL: almost_at + minutes < now
    conn.execute(update(R).where(
        waiting, R.c.almost_at < now - timedelta(minutes=s.check_in_minutes))
        .values(status="no_show"))


def sweep_all(bo: Backoffice, now: datetime | None = None) -> int:
    """The server's timer (`[remote] sweep_seconds`): `sweep` every ward's service that has
    places waiting, each in its own short transaction, so a place's clock starts (and its
    notice goes) without anyone reading it. Returns how many services were swept."""
    now = now or utcnow()
    with reading(bo.engine) as conn:
        pairs = conn.execute(select(R.c.ward, R.c.service).where(R.c.status == "waiting")
                             .distinct()).all()
    for ward, service in pairs:
        with writing(bo.engine) as conn:
            _serialise(bo, conn, ward, service)
            sweep(bo, conn, ward, service, now)
    return len(pairs)


def offer(bo: Backoffice, ward_code: str, now: datetime | None = None) -> dict[str, Any]:
    """The ward's services that give places from home, each available now or why not."""
    now = now or utcnow()
    ward = ward_of(bo, ward_code)
    open_now = is_open(bo, ward, now)
    services = []
    with reading(bo.engine) as conn:
        for code in ward.services:
            rules = _rules(bo, ward, code)
            if rules is None or not rules.offered_in(ward.code):
                continue
            waiting = _ahead(bo, conn, ward.code, code, now)
            wait = service_estimate(bo, ward, code, conn).wait_seconds(waiting)
            taken = _taken_this_hour(conn, ward.code, code, now)
            reason = refusal(rules, ward.code, open_now=open_now, wait_seconds=wait,
                             taken_this_hour=taken)
            services.append({"service": code, "name": bo.catalog.services[code].name,
                             "available": reason is None, "reason": reason,
                             "waiting": waiting, "estimated_wait_seconds": wait,
                             "left_this_hour": max(rules.per_hour - taken, 0)})
    return {"ward": ward.code, "name": ward.name, "open_now": open_now,
            "check_in_minutes": bo.settings.remote.check_in_minutes,
            "almost_ahead": bo.settings.remote.almost_ahead, "services": services}


def _taken_this_hour(conn: Connection, ward: str, service: str, now: datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(R).where(
        R.c.ward == ward, R.c.service == service, R.c.taken_at >= hour_start(now),
        R.c.status != "cancelled")).scalar_one())


def take(bo: Backoffice, ward_code: str, service: str, *, address: str, language: str = "ja",
         now: datetime | None = None) -> dict[str, Any]:
    """A place in today's line, if the service gives them now; at most `[remote]
    max_per_address` per client address and office day."""
    now = now or utcnow()
    ward = ward_of(bo, ward_code)
    rules = _rules(bo, ward, service)
    key = address_hash(address)
    today = office_day(now, bo.tz)
    with writing(bo.engine) as conn:
        if rules is None or not rules.offered_in(ward.code):
            raise NotFound("not_offered", f"{ward.code} gives no places from home for "
                           f"{service!r}")
        _serialise(bo, conn, ward.code, service)
        sweep(bo, conn, ward.code, service, now)
        made = conn.execute(select(func.count()).select_from(R).where(
            R.c.address_hash == key, R.c.day == today)).scalar_one()
        if made >= bo.settings.remote.max_per_address:
            raise conflict("too_many_places", "too many places from this network today")
        waiting = _ahead(bo, conn, ward.code, service, now)
        reason = refusal(rules, ward.code, open_now=is_open(bo, ward, now),
                         wait_seconds=service_estimate(bo, ward, service, conn)
                         .wait_seconds(waiting),
                         taken_this_hour=_taken_this_hour(conn, ward.code, service, now))
        if reason is not None:
            raise conflict(reason, f"no place from home for {service} now ({reason})")
        code = new_code(secrets.randbelow)
        conn.execute(R.insert().values(code=code, ward=ward.code, service=service,
                                       language=language, day=today, taken_at=now,
                                       status="waiting", address_hash=key))
        row = conn.execute(select(R).where(R.c.code == code)).one()
        return view(bo, conn, row, now)


def _serialise(bo: Backoffice, conn: Connection, ward: str, service: str) -> None:
    """Takes of one ward's service one at a time, so the caps (count, then insert) hold
    across server processes: PostgreSQL's transaction-scoped advisory lock on the pair;
    SQLite's writing transaction is already exclusive (BEGIN IMMEDIATE)."""
    if bo.is_pg:
        key = int.from_bytes(hashlib.sha256(f"remote:{ward}:{service}".encode()).digest()[:8],
                             "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def find(bo: Backoffice, code: str, conn: Connection) -> Any:
    normal = normal_code(code)
    row = None if normal is None else conn.execute(select(R).where(R.c.code == normal)).first()
    if row is None:
        raise NotFound("no_place", "no place has that code")
    return row


def view(bo: Backoffice, conn: Connection, row: Any, now: datetime,
         base_url: str = "") -> dict[str, Any]:
    """What the resident's phone shows: no personal data."""
    s = bo.settings.remote
    ahead = wait = None
    if row.status == "waiting":
        ahead = _ahead(bo, conn, row.ward, row.service, row.taken_at, row.id)
        wait = service_estimate(bo, bo.catalog.wards[row.ward], row.service, conn) \
            .wait_seconds(ahead)
    ticket = None
    if row.ticket_id is not None:
        t = conn.execute(select(T.c.label, T.c.status_token).where(T.c.id == row.ticket_id)
                         ).one()
        ticket = {"number": t.label,
                  "status_url": f"{base_url.rstrip('/')}/status/{t.status_token}"}
    deadline = None
    if row.almost_at is not None and row.status == "waiting":
        deadline = iso(row.almost_at + timedelta(minutes=s.check_in_minutes), bo.tz)
    return {"code": row.code, "ward": row.ward, "service": row.service,
            "status": row.status, "taken_at": iso(row.taken_at, bo.tz),
            "people_ahead": ahead, "estimated_wait_seconds": wait,
            "almost": row.almost_at is not None, "check_in_by": deadline, "ticket": ticket}


def look_up(bo: Backoffice, code: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    with writing(bo.engine) as conn:
        row = find(bo, code, conn)
        sweep(bo, conn, row.ward, row.service, now)
        return view(bo, conn, find(bo, code, conn), now)


def cancel(bo: Backoffice, code: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    with writing(bo.engine) as conn:
        row = find(bo, code, conn)
        if row.status != "waiting":
            raise conflict("not_cancellable", f"this place is {row.status}")
        conn.execute(update(R).where(R.c.id == row.id).values(status="cancelled"))
        return view(bo, conn, find(bo, code, conn), now)


def check_in(bo: Backoffice, principal: Principal, code: str, base_url: str,
             now: datetime | None = None) -> dict[str, Any]:
    """At a kiosk of the place's ward: its ticket, queued when the place was taken.
    Scanning again gives the same ticket; a no-show's code gives 409 place_missed."""
    now = now or utcnow()
    with writing(bo.engine) as conn:
        row = find(bo, code, conn)
        if principal.ward is not None and principal.ward != row.ward:
            # As a booking's (appointments.check_in): denied, naming the place's ward so
            # the kiosk can send the resident there (the code is a 50-bit secret).
            raise Forbidden("wrong_ward", "this place is at another ward office",
                            ward=row.ward)
        sweep(bo, conn, row.ward, row.service, now)
        row = find(bo, code, conn)
    if row.status == "checked_in" and row.ticket_id is not None:
        return _answer(bo, row, base_url, now)
    if row.status == "no_show":
        raise conflict("place_missed", "the place was not checked in in time; please take "
                       "a ticket as a walk-in")
    if row.status != "waiting":
        raise conflict("not_waiting", f"this place is {row.status}")
    req = issuing.TicketRequest(ward=row.ward, service=row.service, procedure=None,
                                application=None, priority="normal", language=row.language)
    ticket, _created = issuing.issue(bo, principal, req, f"remote-{row.code}", base_url)
    with writing(bo.engine) as conn:  # its place in the line: when it was taken
        conn.execute(update(T).where(T.c.id == ticket["id"], T.c.status == "waiting")
                     .values(queue_at=row.taken_at))
        conn.execute(update(R).where(R.c.id == row.id).values(
            status="checked_in", checked_in_at=now, ticket_id=ticket["id"]))
        row = conn.execute(select(R).where(R.c.id == row.id)).one()
    return _answer(bo, row, base_url, now)


def _answer(bo: Backoffice, row: Any, base_url: str, now: datetime) -> dict[str, Any]:
    with reading(bo.engine) as conn:
        ticket = conn.execute(select(T).where(T.c.id == row.ticket_id)).one()
        ahead = people_ahead(conn, ticket) if ticket.status == "waiting" else None
        place = view(bo, conn, row, now, base_url)
    return {"remote": place, "late": False, "ticket": ticket_json(bo, ticket, ahead, base_url)}
