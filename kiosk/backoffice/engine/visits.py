"""Routed visits (issue #17): one ticket number, ordered stages, each waiting in its service's
queue. No HTTP here; the routes are kiosk/backoffice/routes/visits.py.

The ticket row stays the visit's live state: `service` is the queue of the current stage,
`stage` its seq, and status/counter/called_at/started_at are the current stage's. A stage
row records when the visit reached it and, when it leaves, what happened there. Completing a
stage that is not the last moves the ticket to the next waiting stage's queue at the place
`[queue] stage_order` says; completing the last one completes the visit (and the purge of
the applications follows the ticket's end as for any ticket: retention.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import Prepared, writing
from kiosk.backoffice.engine.audit import record
from kiosk.backoffice.engine.errors import Unavailable, conflict, forbidden, invalid, not_found
from kiosk.backoffice.engine.lookups import T, people_ahead
from kiosk.backoffice.engine.shapes import route_json, stages_of, ticket_json
from kiosk.backoffice.principal import Principal
from kiosk.backoffice.privacy import refuse_my_number
from kiosk.domain.application import Application, ApplicationError
from kiosk.domain.catalog import Catalog, Procedure, Ward
from kiosk.domain.errors import ConfigError
from kiosk.domain.life_events import LifeEventCatalog

S = m.ticket_stages

# The statements of a stage's moves, built once (docs/statistics.md §6).
_INSERT_STAGES = insert(S)
_ROUTED = update(T).where(T.c.id == bindparam("b_id")).values(
    stage=1, life_event=bindparam("b_life_event", type_=T.c.life_event.type),
    guide=bindparam("b_guide", type_=T.c.guide.type))
_FIRST_QUEUED = Prepared(select(func.min(T.c.queue_at)).where(
    T.c.ward == bindparam("ward"), T.c.service == bindparam("service"),
    T.c.status == "waiting", T.c.rank == bindparam("rank")))


@cache
def _update_stage(keys: tuple[str, ...]) -> Prepared:
    """UPDATE ticket_stages SET <keys> (bound as `v_<column>`) of one ticket's stage."""
    return Prepared(update(S).where(
        S.c.ticket_id == bindparam("b_ticket"), S.c.seq == bindparam("b_seq")).values(
        {k: bindparam(f"v_{k}", type_=S.c[k].type) for k in keys}))


def set_stage(conn: Connection, ticket_id: int, seq: int, values: dict[str, Any]) -> None:
    keys = tuple(sorted(values))
    _update_stage(keys).run(conn, {"b_ticket": ticket_id, "b_seq": seq,
                                   **{f"v_{k}": values[k] for k in keys}})

MAX_STAGES = 10
GUIDE_PLACES = ("here", "other", "online")
# The ticket states in which the route may be changed (not a finished visit).
LIVE = ("waiting", "called", "serving", "held", "no_show")


@dataclass(frozen=True)
class Visit:
    """A checked route with its applications: what issuing stores."""
    route: tuple[tuple[str, tuple[str, ...]], ...]
    applications: list[dict[str, Any]]
    fee_yen: int
    life_event: str | None
    guide: list[dict[str, Any]] | None


# One life-event catalog per procedure catalog object (a reloaded catalog reads it anew).
_LIFE_EVENTS: dict[int, tuple[Catalog, LifeEventCatalog]] = {}


def _life_events(procedures: Catalog) -> LifeEventCatalog:
    from kiosk.configfile import load_life_events

    held = _LIFE_EVENTS.get(id(procedures))
    if held is None or held[0] is not procedures:
        held = (procedures, load_life_events(catalog=procedures))
        _LIFE_EVENTS.clear()
        _LIFE_EVENTS[id(procedures)] = held
    return held[1]


def life_events(bo: Backoffice) -> LifeEventCatalog:
    """The city's life-event catalog (config/life_events.toml), checked against this
    server's procedure catalog; read once per catalog."""
    if bo.life_events is not None:  # a stored catalog version is in force
        held, why = bo.life_events
        if held is None:
            raise Unavailable("unavailable", f"the life-event catalog cannot be used: {why}")
        return held
    try:
        return _life_events(bo.catalog)
    except (ConfigError, OSError) as exc:
        raise Unavailable("unavailable", f"the life-event catalog cannot be read: {exc}"
                          ) from None


def _procedure(bo: Backoffice, ward: Ward, service: str, code: str, field: str) -> Procedure:
    procedure = bo.catalog.procedures.get(code)
    if procedure is None:
        raise invalid("unknown_procedure", f"{field}: there is no procedure {code!r}",
                      field=field)
    if procedure.service != service:
        raise invalid("validation_error", f"{field}: procedure {code} belongs to service "
                      f"{procedure.service!r}, not {service!r}", field=field)
    return procedure


def check_stage(bo: Backoffice, ward: Ward, service: str, procedures: list[str] | tuple[str, ...],
                field: str) -> tuple[str, tuple[str, ...]]:
    """One stage checked against the ward and the catalog (422 naming `field`)."""
    if service not in bo.catalog.services or service not in ward.services:
        raise invalid("unknown_service", f"{field}.service: ward {ward.code} does not offer "
                      f"service {service!r}", field=f"{field}.service")
    if not procedures:
        raise invalid("validation_error", f"{field}.procedures: a stage needs a procedure",
                      field=f"{field}.procedures")
    for j, code in enumerate(procedures):
        _procedure(bo, ward, service, code, f"{field}.procedures[{j}]")
    return service, tuple(procedures)


def check_visit(bo: Backoffice, ward: Ward, service: str | None, procedure: str | None,
                route: list[dict[str, Any]], applications: list[dict[str, Any]] | None,
                guide: list[dict[str, Any]] | None, life_event: str | None) -> Visit:
    """A ticket request's route, applications and guide checked (422 naming the field)."""
    if not 1 <= len(route) <= MAX_STAGES:
        raise invalid("validation_error", f"route: 1 to {MAX_STAGES} stages", field="route")
    stages = [check_stage(bo, ward, s["service"], s["procedures"], f"route[{i}]")
              for i, s in enumerate(route)]
    seen: set[str] = set()
    for i, (_, codes) in enumerate(stages):
        for code in codes:
            if code in seen:
                raise invalid("validation_error", f"route[{i}]: procedure {code} appears "
                              "twice in the route", field=f"route[{i}].procedures")
            seen.add(code)
    if service is not None and service != stages[0][0]:
        raise invalid("validation_error", f"service {service!r} must be the first stage's "
                      f"({stages[0][0]!r})", field="service")
    if procedure is not None and procedure not in stages[0][1]:
        raise invalid("validation_error", f"procedure {procedure!r} is not in the first stage",
                      field="procedure")
    checked: list[dict[str, Any]] = []
    fee = 0
    for i, data in enumerate(applications or []):
        field = f"applications[{i}]"
        refuse_my_number(data, field)
        named = data.get("procedure")
        if not isinstance(named, str) or named not in seen:
            raise invalid("invalid_application", f"{field}.procedure must name a procedure "
                          "of the route", field=f"{field}.procedure")
        code = named
        proc = bo.catalog.procedures[code]
        try:
            app = Application.from_dict(data, proc)
        except ApplicationError as exc:
            raise invalid("invalid_application", f"{field}: {exc}",
                          field=f"{field}.{exc.key}") from None
        if any(a["procedure"] == code for a in checked):
            raise invalid("invalid_application", f"{field}: a second application for {code}",
                          field=f"{field}.procedure")
        checked.append(app.to_dict())
        fee += app.fee(proc)
    for code in seen - {a["procedure"] for a in checked}:
        fee += bo.catalog.procedures[code].fee()
    if guide is not None:
        refuse_my_number(guide, "guide")
    if life_event is not None and life_event not in life_events(bo).events:
        raise invalid("unknown_life_event", f"there is no life event {life_event!r}",
                      field="life_event")
    return Visit(tuple(stages), checked, fee, life_event, guide)


def insert_stages(conn: Connection, ticket_id: int, ward: str, visit: Visit,
                  issued_at: datetime) -> None:
    conn.execute(_INSERT_STAGES, [
        {"ticket_id": ticket_id, "seq": i + 1, "service": service, "procedures": list(codes),
         "status": "waiting", "ward": ward, "arrived_at": issued_at if i == 0 else None}
        for i, (service, codes) in enumerate(visit.route)])
    conn.execute(_ROUTED, {"b_id": ticket_id, "b_life_event": visit.life_event,
                           "b_guide": visit.guide})


def queue_at(bo: Backoffice, conn: Connection, row: Any, service: str, now: datetime) -> datetime:
    """Where the visit waits in `service`'s queue ([queue] stage_order)."""
    rule = bo.settings.queue.stage_order
    if rule == "issued":
        return row.issued_at
    if rule == "arrival":
        return now
    first = _FIRST_QUEUED.scalar(conn, {"ward": row.ward, "service": service,
                                        "rank": row.rank})
    return min(now, first - timedelta(seconds=1)) if first is not None else now


def _move(bo: Backoffice, conn: Connection, row: Any, to: Any, now: datetime) -> dict[str, Any]:
    """The ticket values that put the visit in stage `to`'s queue."""
    set_stage(conn, row.id, to.seq, {"status": "waiting", "arrived_at": now, "counter": None,
                                     "called_at": None, "started_at": None,
                                     "completed_at": None})
    return {"status": "waiting", "service": to.service, "stage": to.seq, "counter": None,
            "called_at": None, "started_at": None, "completed_at": None,
            "queue_at": queue_at(bo, conn, row, to.service, now)}


def _leave(conn: Connection, row: Any, status: str, now: datetime) -> None:
    """Write down what happened in the current stage as the visit leaves it."""
    values: dict[str, Any] = {"status": status}
    if status == "done":
        values.update(counter=row.counter, called_at=row.called_at, started_at=row.started_at,
                      completed_at=now)
    set_stage(conn, row.id, row.stage, values)


def _next(stages: list[Any], after: int) -> Any | None:
    return next((s for s in stages if s.seq > after and s.status == "waiting"), None)


def complete_stage(bo: Backoffice, conn: Connection, row: Any,
                   now: datetime) -> dict[str, Any] | None:
    """A clerk completed the current stage: the ticket values that move the visit to its next
    stage, or None when it was the last (the ticket completes as any ticket does)."""
    _leave(conn, row, "done", now)
    to = _next(stages_of(conn, row.id), row.stage)
    return None if to is None else _move(bo, conn, row, to, now)


def transfer_stage(conn: Connection, row: Any, service: str) -> None:
    """A clerk transferred the visit: its current stage is now served by `service`."""
    conn.execute(update(S).where(S.c.ticket_id == row.id, S.c.seq == row.stage)
                 .values(service=service))


# --- counter actions on a route ------------------------------------------------------------

def _locked(bo: Backoffice, conn: Connection, principal: Principal, ticket_id: int) -> Any:
    if principal.kind != "staff":
        raise forbidden("only the staff of the ticket's ward change a visit's route")
    row = conn.execute(select(T).where(T.c.id == ticket_id).with_for_update()).first()
    if row is None:
        raise not_found(f"ticket {ticket_id}")
    principal.check_ward(row.ward)
    if row.stage is None:
        raise conflict("not_routed", f"{row.label} is a one-queue ticket; transfer it instead")
    if row.status not in LIVE:
        raise conflict("illegal_transition", f"{row.label} is {row.status}; its route is "
                       "finished", status=row.status)
    return row


def _renumber(conn: Connection, row: Any, order: list[dict[str, Any]]) -> None:
    """Give the stages after the current one the seqs of `order` (the current one keeps its
    seq); rows are rewritten so that the primary key never collides."""
    first = row.stage + 1
    conn.execute(delete(S).where(S.c.ticket_id == row.id, S.c.seq >= first))
    rows = [{**s, "seq": first + i} for i, s in enumerate(order)]
    if rows:
        conn.execute(insert(S), rows)


def change_route(bo: Backoffice, principal: Principal, ticket_id: int, action: str, *,
                 service: str | None = None, procedures: list[str] | None = None,
                 seq: int | None = None, order: list[int] | None = None,
                 note: str | None = None, base_url: str = "") -> dict[str, Any]:
    """add | skip | reorder | send-back, audited as visit.<action> in the ticket's events."""
    if note:
        refuse_my_number(note, "note")
    pending: list[dict[str, Any]] = []
    now = utcnow()
    with writing(bo.engine) as conn:
        row = _locked(bo, conn, principal, ticket_id)
        ward = bo.catalog.wards[row.ward]
        stages = stages_of(conn, row.id)
        later = [s for s in stages if s.seq > row.stage]
        data: dict[str, Any] = {"stage": row.stage}
        values: dict[str, Any] | None = None
        if action == "add":
            if service is None or not procedures:
                raise invalid("validation_error", "add needs a \"service\" and "
                              "\"procedures\"", field="service")
            check_stage(bo, ward, service, procedures, "stage")
            taken = {c for s in stages for c in s.procedures}
            if taken & set(procedures):
                raise conflict("already_routed", f"{', '.join(sorted(taken & set(procedures)))}"
                               " is already in the route")
            if len(stages) >= MAX_STAGES:
                raise conflict("route_full", f"a route has at most {MAX_STAGES} stages")
            added = {"ticket_id": row.id, "seq": 0, "service": service,
                     "procedures": list(procedures), "status": "waiting", "ward": row.ward,
                     "counter": None, "arrived_at": None, "called_at": None,
                     "started_at": None, "completed_at": None}
            _renumber(conn, row, [*(s._asdict() for s in later), added])
            data.update(service=service, procedures=list(procedures),
                        seq=row.stage + len(later) + 1)
        elif action == "reorder":
            pending_seqs = [s.seq for s in later if s.status == "waiting"]
            if order is None or sorted(order) != sorted(pending_seqs):
                raise invalid("validation_error", "order must list the waiting stages after "
                              f"the current one exactly once: {pending_seqs}", field="order")
            by_seq = {s.seq: s for s in later}
            ended = [s for s in later if s.status != "waiting"]
            _renumber(conn, row, [s._asdict() for s in [*ended, *(by_seq[n] for n in order)]])
            data["order"] = list(order)
        elif action == "skip":
            target = next((s for s in stages if s.seq == seq), None)
            if target is None or target.status in ("done", "skipped") or (
                    target.seq < row.stage):
                raise conflict("illegal_transition", f"stage {seq} is not a stage still to "
                               "come", seq=seq)
            data["seq"] = target.seq
            data["service"] = target.service
            if target.seq == row.stage:
                to = _next(stages, row.stage)
                if to is None:
                    raise conflict("last_stage", "this is the last stage: complete or cancel "
                                   "the visit instead")
                _leave(conn, row, "skipped", now)
                values = _move(bo, conn, row, to, now)
            else:
                conn.execute(update(S).where(S.c.ticket_id == row.id, S.c.seq == target.seq)
                             .values(status="skipped"))
        elif action == "send-back":
            target = next((s for s in stages if s.seq == seq), None)
            if target is None or target.seq >= row.stage:
                raise conflict("illegal_transition", f"stage {seq} is not an earlier stage",
                               seq=seq)
            conn.execute(update(S).where(S.c.ticket_id == row.id, S.c.seq == row.stage)
                         .values(status="waiting", counter=None, called_at=None,
                                 started_at=None))
            values = _move(bo, conn, row, target, now)
            data.update(seq=target.seq, service=target.service)
        else:
            raise invalid("validation_error", f"unknown route action {action!r}")
        if note:
            data["note"] = note[:500]
        if values is not None:
            data["from_service"] = row.service
            conn.execute(update(T).where(T.c.id == row.id).values(**values))
        row = conn.execute(select(T).where(T.c.id == row.id)).one()
        record(bo, conn, pending, type=f"visit.{action.replace('-', '_')}", ward=row.ward,
               service=row.service, ticket=row, counter=row.counter, actor=principal,
               data=data)
        ahead = people_ahead(conn, row) if row.status == "waiting" else None
        route = route_json(bo, row, stages_of(conn, row.id))
    bo.after_commit(pending)
    return ticket_json(bo, row, ahead, base_url, route=route)
