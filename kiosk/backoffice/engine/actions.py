"""Counter actions: call the next ticket, act on a ticket (call, start, complete, hold,
transfer, …), open or close a counter, set a ward's state."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    bindparam,
    or_,
    select,
    update,
)

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import Prepared, writing
from kiosk.backoffice.engine import shown, visits
from kiosk.backoffice.engine.audit import record
from kiosk.backoffice.engine.errors import (
    Forbidden,
    conflict,
    invalid,
    not_found,
)
from kiosk.backoffice.engine.lookups import (
    OPEN_STATES,
    T,
    counter_of,
    is_open,
    people_ahead,
    ward_of,
)
from kiosk.backoffice.engine.shapes import route_json, stages_of, ticket_json
from kiosk.backoffice.principal import Principal
from kiosk.backoffice.privacy import refuse_my_number
from kiosk.backoffice.states import EVENT_OF, check_transition
from kiosk.domain.catalog import Ward

# The hot statements are built once, their values bound per call: building and caching a
# statement anew on every call cost more than running it (docs/statistics.md §6).
C = m.counters
_LOCK_COUNTER = Prepared(select(C.c.number).where(
    C.c.ward == bindparam("ward"), C.c.number == bindparam("number")).with_for_update())
_CURRENT = Prepared(select(T.c.id, T.c.label, T.c.status).where(
    T.c.ward == bindparam("ward"), T.c.counter == bindparam("number"),
    or_(*(T.c.status == s for s in OPEN_STATES))))  # not IN (…): Prepared runs no IN list
_OPEN_COUNTER = Prepared(update(C).where(
    C.c.ward == bindparam("b_ward"), C.c.number == bindparam("b_number"),
    C.c.is_open.is_(False)).values(is_open=True, opened_at=bindparam("b_now", type_=DateTime)))
_SET_COUNTER = update(C).where(
    C.c.ward == bindparam("b_ward"), C.c.number == bindparam("b_number")).values(
    is_open=bindparam("b_open", type_=C.c.is_open.type),
    opened_at=bindparam("b_now", type_=DateTime))
_PICK = (select(T.c.id).where(T.c.ward == bindparam("ward"),
                              T.c.service.in_(bindparam("services", expanding=True)),
                              T.c.status == "waiting")
         .order_by(T.c.rank, T.c.queue_at, T.c.id).limit(1).with_for_update(skip_locked=True))
_ROW_FOR_UPDATE = Prepared(select(T).where(T.c.id == bindparam("id")).with_for_update())


@cache
def update_ticket(keys: tuple[str, ...]) -> Prepared:
    """UPDATE tickets SET <keys> WHERE id = :b_id RETURNING the row, built once per set of
    columns; bind the values as `v_<column>` (`set_ticket`)."""
    return Prepared(update(T).where(T.c.id == bindparam("b_id"))
                    .values({k: bindparam(f"v_{k}", type_=T.c[k].type) for k in keys})
                    .returning(T))


def set_ticket(conn: Connection, ticket_id: int, values: dict[str, Any]) -> Any:
    """Write `values` into ticket `ticket_id`; the row as it is now."""
    keys = tuple(sorted(values))
    row = update_ticket(keys).first(conn, {"b_id": ticket_id, **{
        f"v_{k}": values[k] for k in keys}})
    assert row is not None  # the caller holds the ticket
    return row


def route_of(bo: Backoffice, conn: Connection, row: Any) -> list[dict[str, Any]] | None:
    """A routed visit's route as its answer shows it, read in the action's own transaction
    (the answer would otherwise read it in one more); None for a one-queue ticket."""
    return None if row.stage is None else route_json(bo, row, stages_of(conn, row.id))


def _lock_counter(bo: Backoffice, conn: Connection, ward: Ward, number: int,
                  keep: int | None = None) -> None:
    """Serialize actions on one counter and refuse when it already has a current ticket."""
    _LOCK_COUNTER.run(conn, {"ward": ward.code, "number": number})
    current = _CURRENT.all(conn, {"ward": ward.code, "number": number})
    for c in current:
        if c.id != keep:
            raise conflict("counter_busy", f"counter {number} still has {c.label} ({c.status}); "
                           "complete, hold, transfer or mark it no-show first",
                           ticket=c.id)


def _open_counter(conn: Connection, ward: str, number: int) -> bool:
    """Open the counter if it was closed; True when it was."""
    return bool(_OPEN_COUNTER.run(conn, {"b_ward": ward, "b_number": number,
                                         "b_now": utcnow()}).rowcount)


def call_next(bo: Backoffice, principal: Principal, ward_code: str, number: int,
              base_url: str) -> dict[str, Any] | None:
    ward = ward_of(bo, ward_code)
    principal.check_ward(ward.code)
    counter = counter_of(ward, number)
    pending: list[dict[str, Any]] = []
    now = utcnow()
    with writing(bo.engine) as conn:
        _lock_counter(bo, conn, ward, number)
        pick = conn.execute(_PICK, {"ward": ward.code, "services": list(counter.services)}
                            ).scalar_one_or_none()
        if pick is None:
            return None
        row = set_ticket(conn, pick, {"status": "called", "counter": number, "called_at": now})
        opened = _open_counter(conn, ward.code, number)
        shown.record_called(conn, row.id, row.stage, now)
        record(bo, conn, pending, type="ticket.called", ward=ward.code, service=row.service,
               ticket=row, counter=number, actor=principal)
        route = route_of(bo, conn, row)
    if opened:
        bo.estimates.clear()  # an opened counter changes the capacity at once
    bo.after_commit(pending)
    return ticket_json(bo, row, None, base_url, route=route)


def act(bo: Backoffice, principal: Principal, ticket_id: int, action: str, *,
        counter: int | None = None, service: str | None = None, note: str | None = None,
        base_url: str = "") -> dict[str, Any]:
    if note:
        refuse_my_number(note, "note")
    pending: list[dict[str, Any]] = []
    now = utcnow()
    with writing(bo.engine) as conn:
        row = _ROW_FOR_UPDATE.first(conn, {"id": ticket_id})
        if row is None:
            raise not_found(f"ticket {ticket_id}")
        principal.check_ward(row.ward)
        ward = bo.catalog.wards[row.ward]
        if principal.kind == "device":
            # A kiosk may only withdraw a ticket it issued and nobody has called yet.
            if row.device_id != principal.device_id or action != "cancel":
                raise Forbidden("forbidden", "a kiosk may only cancel tickets it issued")
            if row.status == "cancelled":
                return ticket_json(bo, row, None, base_url)
            if row.status != "waiting":
                raise conflict("illegal_transition", f"{row.label} is {row.status}; a kiosk "
                               "may only cancel a waiting ticket", status=row.status)
        target = check_transition(row.label, row.status, action)
        values: dict[str, Any] = {"status": target}
        data: dict[str, Any] = {"from_status": row.status}
        if note:
            data["note"] = note[:500]
        event_counter = row.counter
        if action in ("call", "recall"):
            n = counter if counter is not None else (row.counter if row.status == "called"
                                                     else None)
            if n is None:
                raise invalid("validation_error", f"{action} needs a \"counter\"")
            counter_of(ward, n)
            _lock_counter(bo, conn, ward, n, keep=row.id)
            _open_counter(conn, ward.code, n)
            values.update(counter=n, called_at=now)
            shown.record_called(conn, row.id, row.stage, now)
            if action == "recall":
                values["recall_count"] = row.recall_count + 1
            event_counter = n
        elif action == "start":
            values["started_at"] = now
        elif action == "complete":
            values["completed_at"] = now
            if row.stage is not None:  # a routed visit: on to its next stage, if any
                moved = visits.complete_stage(bo, conn, row, now)
                if moved is not None:
                    values = moved
                    data.update(stage=row.stage, next_stage=moved["stage"],
                                from_service=row.service)
        elif action == "transfer":
            if service is None:
                raise invalid("validation_error", "transfer needs a \"service\"")
            if service not in ward.services:
                raise invalid("unknown_service",
                              f"ward {ward.code} does not offer service {service!r}")
            if service == row.service:
                raise conflict("illegal_transition", f"{row.label} is already in {service}")
            values.update(service=service, counter=None, called_at=None, started_at=None)
            if not bo.settings.queue.transfer_keeps_place:
                values["queue_at"] = now
            data["from_service"] = row.service
            if row.stage is not None:
                visits.transfer_stage(conn, row, service)
        if action in ("hold", "no-show", "cancel"):
            values["counter"] = None
        row = set_ticket(conn, row.id, values)
        event = EVENT_OF[action] if row.status != "waiting" or action != "complete" else (
            "visit.stage_completed")
        record(bo, conn, pending, type=event, ward=row.ward, service=row.service,
               ticket=row, counter=event_counter, actor=principal, data=data)
        ahead = people_ahead(conn, row) if row.status == "waiting" else None
        route = route_of(bo, conn, row)
    if action == "complete":
        bo.estimates.clear()
    bo.after_commit(pending)
    return ticket_json(bo, row, ahead, base_url, route=route)


def set_counter_open(bo: Backoffice, principal: Principal, ward_code: str, number: int,
                     is_open_: bool) -> dict[str, Any]:
    ward = ward_of(bo, ward_code)
    principal.check_ward(ward.code)
    counter_of(ward, number)
    pending: list[dict[str, Any]] = []
    with writing(bo.engine) as conn:
        if not is_open_:
            _lock_counter(bo, conn, ward, number)
        conn.execute(_SET_COUNTER, {"b_ward": ward.code, "b_number": number,
                                    "b_open": is_open_, "b_now": utcnow() if is_open_ else None})
        record(bo, conn, pending, type="counter.opened" if is_open_ else "counter.closed",
               ward=ward.code, service=None, ticket=None, counter=number, actor=principal)
    bo.estimates.clear()
    bo.after_commit(pending)
    return {"ward": ward.code, "number": number, "open": is_open_}


def set_ward_state(bo: Backoffice, principal: Principal, ward_code: str,
                   state: str) -> dict[str, Any]:
    ward = ward_of(bo, ward_code)
    principal.check_ward(ward.code)
    pending: list[dict[str, Any]] = []
    with writing(bo.engine) as conn:
        conn.execute(update(m.wards).where(m.wards.c.code == ward.code).values(state=state))
        record(bo, conn, pending, type="ward.state", ward=ward.code, service=None, ticket=None,
               counter=None, actor=principal, data={"state": state})
    bo.ward_states.clear()
    bo.after_commit(pending)
    return {"ward": ward.code, "state": state, "open_now": is_open(bo, ward)}
