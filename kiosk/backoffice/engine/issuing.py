"""Issuing tickets: who may issue, numbering, the online and offline paths.

Numbering: `ticket_sequences` holds the last number per ward/service/day; issuing bumps
it with one INSERT … ON CONFLICT DO UPDATE … RETURNING inside the ticket's transaction
(a row lock on PostgreSQL, the write lock on SQLite), and the ticket row carries a UNIQUE
(ward, origin_service, day, number) constraint as the backstop. No read-max-then-insert.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    bindparam,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import office_day, to_utc, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import Prepared, reading, writing
from kiosk.backoffice.engine import shown, visits
from kiosk.backoffice.engine.audit import event_body, record
from kiosk.backoffice.engine.errors import (
    Forbidden,
    conflict,
    forbidden,
    invalid,
)
from kiosk.backoffice.engine.lookups import (
    CLOCK_SKEW,
    PURGED_HASH,
    T,
    is_open,
    issuer_key,
    people_ahead,
    ward_of,
)
from kiosk.backoffice.engine.shapes import route_json, stages_of, ticket_json
from kiosk.backoffice.events import CHANNEL
from kiosk.backoffice.principal import Callers, Principal
from kiosk.backoffice.privacy import refuse_my_number
from kiosk.domain.application import Application, ApplicationError
from kiosk.domain.catalog import Procedure, Ward

# Who may issue a ticket: the route's dependency, the PostgreSQL hot path and issue_params
# all read this one rule.
ISSUERS = Callers(role="staff", devices=("kiosk",))


# json.dumps with options builds an encoder per call (per ticket, twice); these are built
# once and write the same text
_DIGEST_JSON = json.JSONEncoder(sort_keys=True, default=str)
_EVENT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class TicketRequest:
    ward: str | None
    service: str | None
    procedure: str | None
    application: dict[str, Any] | None
    priority: str
    language: str
    offline_block: int | None = None
    offline_number: int | None = None
    offline_issued_at: datetime | None = None
    status_token: str | None = None
    # A routed visit (issue #17, engine/visits.py); None for a one-queue ticket.
    route: list[dict[str, Any]] | None = None
    applications: list[dict[str, Any]] | None = None
    guide: list[dict[str, Any]] | None = None
    life_event: str | None = None

    def digest(self, ward: str) -> str:
        body: dict[str, Any] = {"ward": ward, "service": self.service, "procedure": self.procedure,
                "application": self.application, "priority": self.priority,
                "language": self.language, "block": self.offline_block,
                "status_token": self.status_token,
                "number": self.offline_number,
                "issued_at": self.offline_issued_at.isoformat() if self.offline_issued_at
                else None}
        if self.route is not None:  # one-queue tickets keep the digest they always had
            body.update(route=self.route, applications=self.applications, guide=self.guide,
                        life_event=self.life_event)
        return hashlib.sha256(_DIGEST_JSON.encode(body).encode()).hexdigest()


def bump(bo: Backoffice, conn: Connection, ward: str, service: str, day: date, n: int,
          table: Any = m.ticket_sequences, start: int = 0) -> int:
    """Advance the ward/service/day counter in `table` by n atomically (a new one starts at
    `start`); return the new last number."""
    ins = (pg_insert if bo.is_pg else sqlite_insert)(table).values(
        ward=ward, service=service, day=day, last=start + n)
    stmt = ins.on_conflict_do_update(
        index_elements=[table.c.ward, table.c.service, table.c.day],
        set_={"last": table.c.last + n}).returning(table.c.last)
    return int(conn.execute(stmt).scalar_one())


def online_number(bo: Backoffice, counted: int) -> int:
    """The online sequence's n-th number: 1, 2, … jumping over the offline range."""
    q = bo.settings.queue
    return counted if counted < q.offline_first else counted + q.offline_last - q.offline_first + 1


def label(prefix: str, number: int) -> str:
    return f"{prefix}-{number:03d}"


def _resolve_request(bo: Backoffice, principal: Principal, req: TicketRequest
                     ) -> tuple[Ward, str, Procedure | None, Application | None]:
    code = req.ward or (principal.ward if principal.kind == "device" else None) or principal.ward
    if code is None:
        raise invalid("validation_error", "say which ward: \"ward\" is required")
    ward = ward_of(bo, code)
    principal.check_ward(ward.code)
    procedure = None
    if req.procedure is not None:
        procedure = bo.catalog.procedures.get(req.procedure)
        if procedure is None:
            raise invalid("unknown_procedure", f"there is no procedure {req.procedure!r}")
    service = req.service or (procedure.service if procedure else None)
    if service is None:
        raise invalid("validation_error", "give a service or a procedure")
    if service not in bo.catalog.services:
        raise invalid("unknown_service", f"there is no service {service!r} "
                      f"(services: {', '.join(bo.catalog.services)})")
    if service not in ward.services:
        raise invalid("unknown_service",
                      f"ward {ward.code} does not offer service {service!r}")
    if procedure is not None and procedure.service != service:
        raise invalid("validation_error", f"procedure {procedure.code} belongs to service "
                      f"{procedure.service!r}, not {service!r}")
    application = None
    if req.application is not None:
        refuse_my_number(req.application, "application")
        if procedure is None:
            raise invalid("invalid_application", "an application needs its procedure")
        try:
            application = Application.from_dict(req.application, procedure)
        except ApplicationError as exc:
            raise invalid("invalid_application", str(exc), field=exc.key) from None
    return ward, service, procedure, application


_TICKET_COLUMNS = (
    "ward, origin_service, service, day, number, label, priority, rank, language, procedure, "
    "application, fee_yen, payment_status, status, queue_at, issued_at, recall_count, "
    "idempotency_key, request_hash, status_token, offline, block_id, device_id, staff_id")


def _ticket_values(pg: bool, number: str, label_sql: str, offline: str) -> str:
    application = "CAST(:application AS JSON)" if pg else ":application"
    return ", ".join([
        ":ward, :service, :service, :day", number, label_sql, ":priority, :rank, :language",
        ":procedure", application, ":fee_yen, 'none', 'waiting', :queue_at, :issued_at, 0",
        ":key, :digest, :token", offline, ":block_id, :device_id, :staff_id"])


_TYPES = {"day": Date, "queue_at": DateTime, "issued_at": DateTime, "at": DateTime}


def _sql(*parts: str) -> Any:
    """A text statement from constant parts (values are always bound parameters)."""
    sql = " ".join(parts)
    return text(sql).bindparams(*(bindparam(name, type_=kind) for name, kind in _TYPES.items()
                                  if f":{name}" in sql))


# The online number: the sequence value, jumping over the offline range (online_number).
# The people ahead: the waiting tickets of the queue with a rank before ours or ours and
# queued no later, counted from the trigger-kept waiting_counts (migration 0201 on
# PostgreSQL, 0560 on SQLite) — every waiting ticket of rank <= ours, less those of our
# rank queued after us (offline uploads stamped slightly ahead; almost always none) —
# instead of one index entry per waiting ticket. PostgreSQL: the statement's snapshot
# excludes itself.
_AHEAD_PG = ("(SELECT coalesce(sum(c.n), 0) FROM waiting_counts c WHERE c.ward = :ward "
             "AND c.service = :service AND c.rank <= :rank) - (SELECT count(*) FROM tickets w "
             "WHERE w.ward = :ward AND w.service = :service AND w.status = 'waiting' "
             "AND w.rank = :rank AND w.queue_at > :queue_at)")
_PG_NUMBER = "(CASE WHEN seq.last < :off_first THEN seq.last ELSE seq.last + :off_span END)"
_PG_LABEL = (f"(:prefix || '-' || CASE WHEN {_PG_NUMBER} < 1000 THEN lpad({_PG_NUMBER}::text, 3, "
             f"'0') ELSE {_PG_NUMBER}::text END)")


# PostgreSQL: one statement bumps the sequence, inserts the ticket, writes its audit-trail
# event, NOTIFYs it (delivered at commit) and counts the people ahead. The event is the one
# `event_body` builds (`issued_event`), with the id and number the ticket row RETURNs set
# into it.
_ISSUE_PG_CTES = (
    "WITH seq AS (INSERT INTO ticket_sequences (ward, service, day, last)",
    "VALUES (:ward, :service, :day, 1) ON CONFLICT (ward, service, day)",
    "DO UPDATE SET last = ticket_sequences.last + 1 RETURNING last),",
    "t AS (INSERT INTO tickets (", _TICKET_COLUMNS, ") SELECT",
    _ticket_values(True, _PG_NUMBER, _PG_LABEL, "false"),
    "FROM seq RETURNING id, number, label),",
    "ev AS (INSERT INTO ticket_events (ticket_id, ward, service, type, at, actor, device_id,",
    "counter, data) SELECT t.id, :ward, :service, 'ticket.issued', :at, :actor, :device_id,",
    "NULL, jsonb_set(jsonb_set(CAST(:event AS jsonb), '{ticket,id}', to_jsonb(t.id)),",
    "'{ticket,number}', to_jsonb(t.label))::text FROM t",
    "RETURNING id, xid, data)")
# The event as published, from its row `ev` (id, xid, data): one NOTIFY's payload, or one
# element of a batch's (ISSUE_PG_BATCH). A field every notification carries is added here;
# `xid`, the writer's transaction, is for kiosk.backoffice.event_order (never sent on).
PG_EVENT = "'{\"id\":' || ev.id || ',\"xid\":' || ev.xid || ',' || substr(ev.data, 2)"
_PG_NOTIFY = f"pg_notify(:channel, {PG_EVENT})"
ISSUE_PG = _sql(*_ISSUE_PG_CTES,
                "SELECT t.id, t.number, t.label, (", _AHEAD_PG, ") AS ahead, ev.id AS event_id,",
                _PG_NOTIFY, "FROM t, ev")
# The same, also storing the estimate answered (engine/shown.py) when it is computed from
# the people ahead by arithmetic alone (estimate.ServiceEstimate, `shown.in_sql`): the hot
# path's one round trip per ticket. The float8 arithmetic and round() (to even, as Python's)
# give the value Python computes.
ISSUE_PG_SHOWN = _sql(
    *_ISSUE_PG_CTES, ",",
    "a AS (SELECT t.id, t.number, t.label, (", _AHEAD_PG, ") AS ahead FROM t),",
    "sh AS (INSERT INTO ticket_estimates (ticket_id, ward, service, stage, at, source, method,",
    "people_ahead, estimate_seconds) SELECT a.id, :ward, :service, 0, :issued_at, 'issue',",
    ":method, a.ahead, CAST(round((CAST(a.ahead AS float8) + 0.5) * CAST(:mean AS float8)",
    "/ CAST(:capacity AS float8)) AS integer) FROM a)",
    "SELECT a.id, a.number, a.label, a.ahead, ev.id AS event_id,", _PG_NOTIFY, "FROM a, ev")


def issued_event(bo: Backoffice, params: dict[str, Any], at: datetime) -> str:
    """The ticket.issued event of the ticket `params` will insert, as JSON text; its id and
    number are placeholders until ISSUE_PG sets those its ticket row RETURNs."""
    event = event_body(bo, "ticket.issued", at, params["ward"], params["service"], None,
                       new_row(params, 0, 0, ""), None)
    return _EVENT_JSON.encode(event)


_BUMP_SQLITE = _sql(
    "INSERT INTO ticket_sequences (ward, service, day, last) VALUES (:ward, :service, :day, 1)",
    "ON CONFLICT (ward, service, day) DO UPDATE SET last = last + 1 RETURNING last")
_INSERT = {pg: _sql("INSERT INTO tickets (", _TICKET_COLUMNS, ") VALUES (",
                    _ticket_values(pg, ":number", ":label", ":offline"), ") RETURNING id")
           for pg in (True, False)}
# SQLite, after the insert in the same transaction: the counts the triggers of migration 0560
# keep, this ticket included (the caller takes 1 off, as from `_AHEAD`'s count)
_AHEAD_SQLITE = _sql("SELECT", _AHEAD_PG)
# the same, run on the DB-API cursor (db.Prepared): SQLite's issuing is mostly these three
_BUMP_RAW, _INSERT_RAW, _AHEAD_RAW = map(Prepared, (_BUMP_SQLITE, _INSERT[False],
                                                    _AHEAD_SQLITE))


def issue(bo: Backoffice, principal: Principal, req: TicketRequest, key: str,
          base_url: str) -> tuple[dict[str, Any], bool]:
    """Issue a ticket (or replay the one issued under `key`). Returns (ticket, created)."""
    now = utcnow()
    ward, params = issue_params(bo, principal, req, key, now)
    offline = params["offline"]
    if not offline and not is_open(bo, ward, now):
        with reading(bo.engine) as conn:  # a retry of a ticket issued before closing
            existing = conn.execute(select(T).where(T.c.idempotency_key == params["key"])
                                    ).first()
            if existing is not None:
                return _replay(bo, conn, existing, params["digest"], base_url), False
        raise conflict("ward_closed", f"{ward.name} ({ward.code}) is closed now; "
                       f"opening hours {ward.hours.opens:%H:%M}-{ward.hours.closes:%H:%M}")
    service, prefix = params["service"], params["prefix"]
    visit: visits.Visit | None = params["visit"]
    pending: list[dict[str, Any]] = []
    pending_pg = False  # PostgreSQL's statement already wrote (and NOTIFYs) the event
    served = None  # the estimate answered, as stored (engine/shown.py); offline: none shown
    route = None
    try:
        with writing(bo.engine) as conn:
            if offline:
                number = _check_reserved(conn, principal, ward.code, service,
                                         params["day"], req)
                params.update(number=number, label=label(prefix, number))
                ticket_id = conn.execute(_INSERT[bo.is_pg], params).scalar_one()
                row = new_row(params, ticket_id, number, params["label"])
                ahead = people_ahead(conn, row)
            elif bo.is_pg:
                got = conn.execute(ISSUE_PG, pg_issue_params(bo, params, principal, now)).one()
                row = new_row(params, got.id, got.number, got.label)
                ahead = int(got.ahead)
                served = shown.record_issue(bo, conn, row, ahead)
                if visit is None:
                    return ticket_json(bo, row, ahead, base_url, served=served), True
                pending_pg = True
            else:
                row, ahead, served = issue_sqlite(bo, conn, params, principal, pending)
                pending_pg = True  # its event is written
            if not pending_pg:
                record(bo, conn, pending, type="ticket.issued", ward=ward.code,
                       service=service, ticket=row, counter=None, actor=principal,
                       data={"offline": True} if offline else None)
            if visit is not None:
                visits.insert_stages(conn, row.id, ward.code, visit, params["issued_at"])
                row.stage = 1
                route = route_json(bo, row, stages_of(conn, row.id))
    except IntegrityError:
        with reading(bo.engine) as conn:
            existing = conn.execute(select(T).where(T.c.idempotency_key == params["key"])
                                    ).first()
            if existing is not None:
                return _replay(bo, conn, existing, params["digest"], base_url), False
        raise conflict("duplicate_number", "that ticket number (or status token) was already used"
                       ) from None
    bo.after_commit(pending)
    return ticket_json(bo, row, ahead, base_url, route=route, served=served), True


def issue_sqlite(bo: Backoffice, conn: Connection, params: dict[str, Any], principal: Principal,
                 pending: list[dict[str, Any]]) -> tuple[Any, int, Any]:
    """SQLite, in the caller's writing transaction: bump the sequence, insert the online ticket,
    count the people ahead, store the estimate served and write the ticket.issued event
    (queued in `pending` for `bo.after_commit`). Returns (row, people ahead, estimate).
    `engine.issuing.issue` and the group writer (groupcommit.py) both issue this way."""
    number = online_number(bo, _BUMP_RAW.scalar(conn, params))
    params.update(number=number, label=label(params["prefix"], number))
    ticket_id = _INSERT_RAW.scalar(conn, params)
    row = new_row(params, ticket_id, number, params["label"])
    ahead = _AHEAD_RAW.scalar(conn, params) - 1
    served = shown.record_issue(bo, conn, row, ahead)
    record(bo, conn, pending, type="ticket.issued", ward=params["ward"],
           service=params["service"], ticket=row, counter=None, actor=principal)
    return row, ahead, served


def issue_params(bo: Backoffice, principal: Principal, req: TicketRequest, key: str,
                 now: datetime) -> tuple[Ward, dict[str, Any]]:
    """Check a ticket request against the catalog (4xx when wrong) and build the bound
    parameters of its INSERT. Reads nothing from the database."""
    if not ISSUERS.admit(principal):
        raise forbidden(ISSUERS.refusal())
    if req.route is not None:
        if req.application is not None:
            raise invalid("validation_error", "a routed ticket sends \"applications\" (one "
                          "per procedure), not \"application\"", field="application")
        code = req.ward or principal.ward
        if code is None:
            raise invalid("validation_error", "say which ward: \"ward\" is required")
        principal.check_ward(ward_of(bo, code).code)
        visit = visits.check_visit(bo, ward_of(bo, code), req.service, req.procedure,
                                   req.route, req.applications, req.guide, req.life_event)
        req = replace(req, service=visit.route[0][0])
    elif req.applications is not None or req.guide is not None or req.life_event is not None:
        raise invalid("validation_error", "\"applications\", \"guide\" and \"life_event\" "
                      "need a \"route\"", field="route")
    else:
        visit = None
    ward, service, procedure, application = _resolve_request(bo, principal, req)
    offline = req.offline_block is not None
    if offline:
        if principal.device_kind != "kiosk":
            raise Forbidden("forbidden", "only kiosks upload offline tickets")
        assert req.offline_issued_at is not None and req.offline_number is not None
        issued_at = to_utc(req.offline_issued_at)
        if issued_at > now + CLOCK_SKEW:
            raise invalid("validation_error", "offline.issued_at is in the future")
    else:
        issued_at = now
    return ward, {
        "ward": ward.code, "service": service, "day": office_day(issued_at, bo.tz),
        "prefix": bo.catalog.services[service].prefix, "priority": req.priority,
        "rank": bo.settings.queue.priority_rank[req.priority], "language": req.language,
        "procedure": procedure.code if procedure else None,
        "application": json.dumps(visit.applications, ensure_ascii=False) if visit
        else json.dumps(application.to_dict(), ensure_ascii=False) if application else None,
        "fee_yen": visit.fee_yen if visit else (
            application.fee(procedure) if application and procedure
            else procedure.fee() if procedure else 0),
        "visit": visit,
        "queue_at": issued_at, "issued_at": issued_at, "key": issuer_key(principal, key),
        "digest": req.digest(ward.code),
        "token": req.status_token or secrets.token_urlsafe(32), "block_id": req.offline_block,
        "device_id": principal.device_id, "staff_id": principal.staff_id, "offline": offline,
    }


def pg_issue_params(bo: Backoffice, params: dict[str, Any], principal: Principal,
                    now: datetime) -> dict[str, Any]:
    """`params` completed for the one-statement PostgreSQL issue (ISSUE_PG)."""
    q = bo.settings.queue
    return {**params, "actor": principal.username, "off_first": q.offline_first,
            "off_span": q.offline_last - q.offline_first + 1,
            "event": issued_event(bo, params, now), "channel": CHANNEL, "at": now}


def new_row(params: dict[str, Any], ticket_id: int, number: int, label_: str) -> Any:
    """The ticket just inserted, without reading it back."""
    return SimpleNamespace(
        id=ticket_id, number=number, label=label_, ward=params["ward"],
        service=params["service"], procedure=params["procedure"],
        priority=params["priority"], rank=params["rank"], language=params["language"],
        status="waiting", fee_yen=params["fee_yen"], payment_status="none", counter=None,
        recall_count=0, status_token=params["token"], issued_at=params["issued_at"],
        queue_at=params["queue_at"], called_at=None, started_at=None, completed_at=None,
        offline=params["offline"], stage=1 if params.get("visit") is not None else None)


def _replay(bo: Backoffice, conn: Connection, row: Any, digest: str,
            base_url: str) -> dict[str, Any]:
    if row.request_hash not in (digest, PURGED_HASH):
        raise conflict("idempotency_mismatch", "this Idempotency-Key was already used for a "
                       "different request; use a new key for a new ticket")
    ahead = people_ahead(conn, row) if row.status == "waiting" else None
    return ticket_json(bo, row, ahead, base_url)


def _check_reserved(conn: Connection, principal: Principal, ward: str, service: str,
                    day: date, req: TicketRequest) -> int:
    number = req.offline_number
    assert number is not None
    block = conn.execute(select(m.number_blocks).where(
        m.number_blocks.c.id == req.offline_block)).first()
    if (block is None or block.device_id != principal.device_id or block.ward != ward
            or block.service != service):
        raise conflict("number_not_reserved",
                       f"block {req.offline_block} is not a block this kiosk reserved for "
                       f"{service}")
    if block.day != day:
        raise conflict("number_not_reserved", f"block {block.id} is for {block.day}, but the "
                       f"ticket was issued on {day}")
    if not block.first <= number <= block.last:
        raise conflict("number_not_reserved", f"number {number} is outside block {block.id} "
                       f"({block.first}-{block.last})")
    return number
