"""The audit trail: each change of a ticket, counter or ward written as one `ticket_events` row,
published live (NOTIFY on PostgreSQL, `bo.after_commit` on SQLite)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    bindparam,
    insert,
    text,
)

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import iso, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import Prepared, writing
from kiosk.backoffice.engine.lookups import DATA_READ
from kiosk.backoffice.engine.shapes import ticket_summary
from kiosk.backoffice.events import CHANNEL
from kiosk.backoffice.principal import Principal

_EVENT_PG = text(
    "WITH ev AS (INSERT INTO ticket_events (ticket_id, ward, service, type, at, actor, "
    "device_id, counter, data) VALUES (:ticket_id, :ward, :service, :type, :at, :actor, "
    ":device_id, :counter, :data) RETURNING id, xid) "
    "SELECT id, pg_notify(:channel, '{\"id\":' || id || ',\"xid\":' || xid || ',' || :rest) "
    "FROM ev"
).bindparams(bindparam("at", type_=DateTime))


_EVENT_SQLITE = text(
    "INSERT INTO ticket_events (ticket_id, ward, service, type, at, actor, device_id, counter, "
    "data) VALUES (:ticket_id, :ward, :service, :type, :at, :actor, :device_id, :counter, "
    ":data) RETURNING id").bindparams(bindparam("at", type_=DateTime))
_EVENT_RAW = Prepared(_EVENT_SQLITE)


def event_body(bo: Backoffice, type_: str, at: datetime, ward: str, service: str | None,
               counter: int | None, ticket: Any | None,
               data: dict[str, Any] | None) -> dict[str, Any]:
    """An audit-trail event as published (and stored as its `data` text)."""
    return {"type": type_, "at": iso(at, bo.tz), "ward": ward, "service": service,
            "counter": counter, "ticket": ticket_summary(ticket) if ticket is not None else None,
            "data": data or {}}


def event_row(bo: Backoffice, row: Any, at: datetime, type_: str, data: dict[str, Any],
              actor: Principal | None = None) -> dict[str, Any]:
    """The ticket_events values of an entry about ticket `row` that is not pushed live."""
    event = event_body(bo, type_, at, row.ward, row.service, row.counter, row, data)
    return {"ticket_id": row.id, "ward": row.ward, "service": row.service, "type": type_,
            "at": at, "actor": actor.username if actor is not None else None,
            "device_id": actor.device_id if actor is not None else None,
            "counter": row.counter,
            "data": json.dumps(event, ensure_ascii=False, separators=(",", ":"))}


def record_read(bo: Backoffice, principal: Principal, row: Any, via: str) -> None:
    """Write who read the ticket's personal data, and how (`via`: "api" — the ticket
    JSON, "console" — the console's application view, "form.pdf"), before it is handed
    out: one INSERT; the data itself stays out of the entry."""
    with writing(bo.engine) as conn:
        conn.execute(insert(m.ticket_events).values(
            **event_row(bo, row, utcnow(), DATA_READ, {"via": via}, principal)))


def record(bo: Backoffice, conn: Connection, pending: list[dict[str, Any]], *, type: str,
           ward: str, service: str | None, ticket: Any | None, counter: int | None,
           actor: Principal | None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write one audit-trail entry; on PostgreSQL NOTIFY it in the same statement (delivered
    at commit), on SQLite queue it in `pending` for `bo.after_commit`."""
    at = utcnow()
    event = event_body(bo, type, at, ward, service, counter, ticket, data)
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    params = {"ticket_id": ticket.id if ticket is not None else None, "ward": ward,
              "service": service, "type": type, "at": at, "counter": counter,
              "actor": actor.username if actor is not None else None,
              "device_id": actor.device_id if actor is not None else None, "data": body}
    if bo.is_pg:
        event_id = conn.execute(_EVENT_PG, {**params, "channel": CHANNEL,
                                            "rest": body[1:]}).scalar_one()
    else:
        event_id = _EVENT_RAW.scalar(conn, params)
    event = {"id": event_id, **event}
    pending.append(event)
    from kiosk.backoffice.engine import notify  # it reads the queue this module writes

    notify.on_event(bo, conn, type, ward, service, ticket, counter, data)
    return event
