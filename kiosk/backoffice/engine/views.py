"""Read models: one ticket (staff, kiosk, phone token), its audit trail, the ward's queue,
its estimates, and the events a reconnecting stream missed."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Select,
    func,
    select,
)

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import iso, office_day, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, reading_one_snapshot
from kiosk.backoffice.engine.audit import record_read
from kiosk.backoffice.engine.errors import (
    Gone,
    forbidden,
    not_found,
)
from kiosk.backoffice.engine.lookups import (
    OPEN_STATES,
    UNPUBLISHED,
    T,
    is_open,
    issuer_key,
    people_ahead,
    service_estimate,
    ward_of,
)
from kiosk.backoffice.engine.shapes import (
    purged_info,
    route_json,
    stage_forms,
    stages_of,
    ticket_json,
)
from kiosk.backoffice.estimate import level
from kiosk.backoffice.event_order import Covered, snapshot_of
from kiosk.backoffice.principal import Principal
from kiosk.backoffice.states import allowed_actions


def get_ticket(bo: Backoffice, principal: Principal, ticket_id: int,
               base_url: str, via: str = "api") -> dict[str, Any]:
    """One ticket with its application, for staff of its ward only (kiosks and displays
    read no application data); a read of an application is written to the audit trail."""
    if principal.kind != "staff":
        raise forbidden("a ticket's data is for the staff of its ward; a kiosk looks up "
                        "its own tickets by key (GET /tickets/by-key/{key})")
    with reading(bo.engine) as conn:
        row = conn.execute(select(T).where(T.c.id == ticket_id)).first()
        if row is None:
            raise not_found(f"ticket {ticket_id}")
        principal.check_ward(row.ward)
        ahead = people_ahead(conn, row) if row.status == "waiting" else None
        events = conn.execute(select(func.count()).select_from(m.ticket_events).where(
            m.ticket_events.c.ticket_id == row.id)).scalar_one()
        stages = stages_of(conn, row.id) if row.stage is not None else None
    if row.application is not None:
        record_read(bo, principal, row, via)
    out = ticket_json(bo, row, ahead, base_url,
                      route=None if stages is None else route_json(bo, row, stages))
    if stages is not None:  # each stage's clerk sees the forms of their stage
        out["application"] = None
        out["applications"] = stage_forms(row, stages)
    else:
        out["application"] = row.application
    out["application_purged"] = purged_info(row, bo.tz)
    out["events"] = events
    out["allowed_actions"] = allowed_actions(row.status)
    return out


def ticket_by_key(bo: Backoffice, principal: Principal, key: str,
                  base_url: str) -> dict[str, Any]:
    """The ticket a kiosk issued under `key` (404 when none — nothing is created)."""
    with reading(bo.engine) as conn:
        row = conn.execute(select(T).where(
            T.c.idempotency_key == issuer_key(principal, key))).first()
        if row is None or row.device_id != principal.device_id:
            raise not_found("a ticket issued by this kiosk under that key")
        ahead = people_ahead(conn, row) if row.status == "waiting" else None
    return ticket_json(bo, row, ahead, base_url)


def ticket_row(bo: Backoffice, principal: Principal, ticket_id: int) -> Any:
    with reading(bo.engine) as conn:
        row = conn.execute(select(T).where(T.c.id == ticket_id)).first()
    if row is None:
        raise not_found(f"ticket {ticket_id}")
    principal.check_ward(row.ward)
    return row


def ticket_by_status_token(bo: Backoffice, token: str) -> tuple[Any, int | None]:
    """The ticket behind a phone page's token and its people-ahead count (404 if none)."""
    if not 20 <= len(token) <= 64:
        raise not_found("that ticket")
    with reading(bo.engine) as conn:
        row = conn.execute(select(T).where(T.c.status_token == token)).first()
        if row is None:
            raise not_found("that ticket")
        if status_ended(bo, conn, row):
            raise Gone("ticket_ended", "this ticket has ended; its status is no "
                       "longer shown")
        ahead = people_ahead(conn, row) if row.status == "waiting" else None
    return row, ahead


def status_ended(bo: Backoffice, conn: Connection, row: Any) -> bool:
    """A phone status token ends with the ticket's personal data: once it was purged, or
    once it is due for purging by the retention rules (a ticket without an application
    record has nothing to purge, but its paper ticket must not show for ever either)."""
    from kiosk.backoffice.retention import FINAL_STATES, finished_before, issued_before

    if row.application_purged_at is not None:
        return True
    now = utcnow()
    r = bo.settings.retention
    if row.issued_at < issued_before(r, now):
        return True
    if row.status not in FINAL_STATES:
        return False
    e = m.ticket_events
    finished = conn.execute(select(func.max(e.c.at)).where(
        e.c.ticket_id == row.id, e.c.type.not_in(UNPUBLISHED))).scalar_one()
    return finished is not None and finished < finished_before(r, now, bo.tz)


def ticket_events(bo: Backoffice, principal: Principal, ticket_id: int) -> list[dict[str, Any]]:
    row = ticket_row(bo, principal, ticket_id)
    e = m.ticket_events
    with reading(bo.engine) as conn:
        rows = conn.execute(select(e).where(e.c.ticket_id == row.id).order_by(e.c.id)).all()
    return [{"id": r.id, "type": r.type, "at": iso(r.at, bo.tz), "actor": r.actor,
             "device": r.device_id, "counter": r.counter,
             "data": json.loads(r.data).get("data", {})} for r in rows]


def estimates_view(bo: Backoffice, ward_code: str) -> dict[str, Any]:
    ward = ward_of(bo, ward_code)
    with reading(bo.engine) as conn:
        counts: dict[str, int] = dict(conn.execute(
            select(T.c.service, func.count()).where(T.c.ward == ward.code,
                                                    T.c.status == "waiting")
            .group_by(T.c.service)).all())
        out = []
        for code in ward.services:
            est = service_estimate(bo, ward, code, conn)
            waiting = int(counts.get(code, 0))
            wait = est.wait_seconds(waiting)
            out.append({"code": code, "waiting_count": waiting, "estimated_wait_seconds": wait,
                        "open_counters": est.open_counters,
                        "mean_service_seconds": round(est.mean_service_seconds),
                        "level": level(wait, bo.catalog.services[code].target_wait_minutes)})
    return {"ward": ward.code, "name": ward.name, "open_now": is_open(bo, ward),
            "services": out}


def newest_event_id(conn: Connection, ward: str) -> int:
    """The newest id of the ward's audit trail (0: none yet)."""
    e = m.ticket_events
    return int(conn.execute(select(func.max(e.c.id)).where(e.c.ward == ward)).scalar_one()
               or 0)


def covered_now(bo: Backoffice, ward: str) -> Covered:
    """The ward's newest event id and the snapshot it was read under (event_order)."""
    with reading_one_snapshot(bo.engine) as conn:
        return snapshot_of(conn, newest_event_id(conn, ward))


def queue_view(bo: Backoffice, ward_code: str, limit: int = 200) -> dict[str, Any]:
    return queue_view_covered(bo, ward_code, limit)[0]


def queue_view_covered(bo: Backoffice, ward_code: str,
                       limit: int = 200) -> tuple[dict[str, Any], Covered]:
    """The ward's queue view and which events it covers (read under one snapshot): a live
    stream's opening (kiosk.backoffice.event_order)."""
    ward = ward_of(bo, ward_code)
    now = utcnow()
    with reading_one_snapshot(bo.engine) as conn:
        last_event_id = newest_event_id(conn, ward.code)
        covered = snapshot_of(conn, last_event_id)
        live = conn.execute(
            select(T).where(T.c.ward == ward.code,
                            T.c.status.in_(("waiting", "held", "no_show", "called", "serving")))
            .order_by(T.c.rank, T.c.queue_at, T.c.id)).all()
        open_numbers = set(conn.execute(select(m.counters.c.number).where(
            m.counters.c.ward == ward.code, m.counters.c.is_open.is_(True))).scalars())
        recent = conn.execute(
            select(T.c.label, T.c.counter, T.c.service, T.c.called_at)
            .where(T.c.ward == ward.code, T.c.called_at.is_not(None),
                   T.c.counter.is_not(None), T.c.day == office_day(now, bo.tz))
            .order_by(T.c.called_at.desc()).limit(10)).all()
        estimates = {code: service_estimate(bo, ward, code, conn) for code in ward.services}
    services = []
    for code in ward.services:
        svc = bo.catalog.services[code]
        est = estimates[code]
        rows = [r for r in live if r.service == code and r.status == "waiting"]
        services.append({
            "code": code, "prefix": svc.prefix, "name": svc.name, "waiting_count": len(rows),
            "estimated_wait_seconds": est.wait_seconds(len(rows)),
            "mean_service_seconds": round(est.mean_service_seconds),
            "open_counters": est.open_counters, "target_wait_seconds": svc.target_wait_minutes * 60,
            "waiting": [{"id": r.id, "number": r.label, "priority": r.priority,
                         "status": r.status, "position": i + 1,
                         "waited_seconds": max(int((now - r.queue_at).total_seconds()), 0),
                         "estimated_wait_seconds": est.wait_seconds(i),
                         "offline": bool(r.offline)} for i, r in enumerate(rows[:limit])],
        })
    current = {r.counter: r for r in live if r.status in OPEN_STATES and r.counter is not None}
    return {
        "ward": ward.code, "name": ward.name, "open_now": is_open(bo, ward),
        "generated_at": iso(now, bo.tz), "last_event_id": last_event_id,
        "services": services,
        "held": [{"id": r.id, "number": r.label, "service": r.service}
                 for r in live if r.status == "held"],
        "no_show": [{"id": r.id, "number": r.label, "service": r.service,
                     "called_at": iso(r.called_at, bo.tz)}
                    for r in live if r.status == "no_show"],
        "counters": [{"number": c.number, "name": c.name, "services": list(c.services),
                      "open": c.number in open_numbers,
                      "current": None if c.number not in current else {
                          "id": current[c.number].id, "number": current[c.number].label,
                          "service": current[c.number].service,
                          "status": current[c.number].status,
                          "called_at": iso(current[c.number].called_at, bo.tz),
                          "started_at": iso(current[c.number].started_at, bo.tz),
                          "recall_count": current[c.number].recall_count}}
                     for c in ward.counters],
        "recent_calls": [{"number": r.label, "counter": r.counter, "service": r.service,
                          "called_at": iso(r.called_at, bo.tz)} for r in recent],
    }, covered


def replay_events(bo: Backoffice, ward: str, after: int,
                  limit: int) -> tuple[list[dict[str, Any]], Covered] | None:
    """What a client that last received event `after` has missed, in id order, and what
    that covers; None when more than `limit` were missed or `after` is not this ward's
    (then a snapshot serves it).

    Besides the ids above `after`, on PostgreSQL: events with smaller ids that committed
    after it. Such a transaction was still running when `after` was written, so its id is
    at least that row's `horizon` (the oldest transaction running then; migration 0580).
    That may repeat an event the client already has — a replay never skips one; clients
    drop an id they have seen."""
    e = m.ticket_events
    published = (e.c.ward == ward, e.c.type.not_in(UNPUBLISHED))
    with reading_one_snapshot(bo.engine) as conn:
        covered = snapshot_of(conn, after)
        above = select(e.c.id, e.c.data).where(*published, e.c.id > after)
        query: Select[Any] | CompoundSelect[Any] = above
        if covered.exact:
            mark = conn.execute(select(e.c.ward, e.c.horizon).where(e.c.id == after)).first()
            if after and (mark is None or mark.ward != ward):
                return None
            if mark is not None and mark.horizon is not None:
                query = above.union_all(select(e.c.id, e.c.data).where(
                    *published, e.c.id < after, e.c.xid >= mark.horizon))
        rows = conn.execute(select(query.subquery()).order_by("id").limit(limit + 1)).all()
    if len(rows) > limit:
        return None
    events = [{"id": r.id, **json.loads(r.data)} for r in rows]
    return events, covered.with_watermark(max([after] + [int(x["id"]) for x in events]))
