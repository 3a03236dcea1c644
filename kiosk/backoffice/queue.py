"""The queue engine: issuing, numbering, counter actions, views, estimates.

Numbering: `ticket_sequences` holds the last number per ward/service/day; issuing bumps
it with one INSERT … ON CONFLICT DO UPDATE … RETURNING inside the ticket's transaction
(a row lock on PostgreSQL, the write lock on SQLite), and the ticket row carries a UNIQUE
(ward, origin_service, day, number) constraint as the backstop. No read-max-then-insert.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Row,
    bindparam,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from kiosk.backoffice import models as m
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.clock import iso, office_day, to_utc, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.errors import ApiError, conflict, forbidden, not_found, unprocessable
from kiosk.backoffice.estimate import ServiceEstimate, estimate, level
from kiosk.backoffice.events import CHANNEL
from kiosk.backoffice.privacy import refuse_my_number
from kiosk.backoffice.states import EVENT_OF, allowed_actions, check_transition
from kiosk.domain.application import Application, ApplicationError
from kiosk.domain.catalog import Counter, Procedure, Ward

T = m.tickets
OPEN_STATES = ("called", "serving")
# request_hash of a ticket whose application was purged (retention.py): the hash covered the
# personal data, so it goes too, and a late retry under the key is answered by the key alone.
PURGED_HASH = "purged"
CLOCK_SKEW = timedelta(minutes=5)
# Audit-trail entries that are never pushed live nor replayed to a stream: nothing on a
# screen changes, and who read what is for the audit trail only (GET /tickets/{id}/events).
DATA_READ = "ticket.data_read"
UNPUBLISHED = (DATA_READ, "ticket.application_purged", "ticket.notes_purged")


def issuer_key(principal: Principal, key: str) -> str:
    """An Idempotency-Key as stored: scoped to the kiosk or staff account that sent it, so
    two devices' keys never meet (one cannot replay, or block, another's ticket)."""
    if principal.device_id is not None:
        return f"d{principal.device_id}:{key}"
    return f"s{principal.staff_id}:{key}"


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

    def digest(self, ward: str) -> str:
        body = {"ward": ward, "service": self.service, "procedure": self.procedure,
                "application": self.application, "priority": self.priority,
                "language": self.language, "block": self.offline_block,
                "status_token": self.status_token,
                "number": self.offline_number,
                "issued_at": self.offline_issued_at.isoformat() if self.offline_issued_at
                else None}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


# --- lookups -----------------------------------------------------------------------

def ward_of(bo: Backoffice, code: str) -> Ward:
    ward = bo.catalog.wards.get(code)
    if ward is None:
        raise ApiError(404, "unknown_ward", f"there is no ward {code!r} "
                       f"(wards: {', '.join(bo.catalog.wards)})")
    return ward


def counter_of(ward: Ward, number: int) -> Counter:
    for c in ward.counters:
        if c.number == number:
            return c
    raise not_found(f"counter {number} of ward {ward.code}")


def ward_state(bo: Backoffice, code: str) -> str:
    state: str | None = bo.ward_states.get(code)
    if state is None:
        with reading(bo.engine) as conn:
            state = conn.execute(select(m.wards.c.state).where(m.wards.c.code == code)
                                 ).scalar_one_or_none() or "auto"
        bo.ward_states.put(code, state)
    return state


def is_open(bo: Backoffice, ward: Ward, now: datetime | None = None) -> bool:
    state = ward_state(bo, ward.code)
    if state != "auto":
        return state == "open"
    if not bo.settings.queue.enforce_opening_hours:
        return True
    here = (now or utcnow()).replace(tzinfo=UTC).astimezone(bo.tz)
    return ward.hours.is_open(here.weekday(), here.time())


def service_estimate(bo: Backoffice, ward: Ward, service: str,
                     conn: Connection | None = None) -> ServiceEstimate:
    cached = bo.cached_estimate(ward.code, service)
    if cached is not None:
        return cached
    since = utcnow() - timedelta(days=7)
    q = bo.settings.queue

    def load(c: Connection) -> ServiceEstimate:
        rows = c.execute(
            select(T.c.started_at, T.c.completed_at)
            .where(T.c.ward == ward.code, T.c.service == service,
                   T.c.completed_at > since, T.c.started_at.is_not(None))
            .order_by(T.c.completed_at.desc()).limit(q.estimate_samples)).all()
        open_numbers = set(c.execute(select(m.counters.c.number).where(
            m.counters.c.ward == ward.code, m.counters.c.is_open.is_(True))).scalars())
        durations = [(r.completed_at - r.started_at).total_seconds() for r in rows]
        svc = bo.catalog.services[service]
        return estimate(service, svc.default_service_minutes, durations, ward.counters,
                        open_numbers, q.estimate_prior_weight)

    if conn is not None:
        value = load(conn)
    else:
        with reading(bo.engine) as c:
            value = load(c)
    bo.estimates.put((ward.code, service), value)
    return value


def people_ahead(conn: Connection, row: Row[Any]) -> int:
    return int(conn.execute(
        select(func.count()).select_from(T).where(
            T.c.ward == row.ward, T.c.service == row.service, T.c.status == "waiting",
            tuple_(T.c.rank, T.c.queue_at, T.c.id) < tuple_(row.rank, row.queue_at, row.id))
    ).scalar_one())


# --- JSON shapes -------------------------------------------------------------------

def ticket_summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "number": row.label, "status": row.status, "priority": row.priority,
            "service": row.service, "counter": row.counter, "recall_count": row.recall_count}


def ticket_json(bo: Backoffice, row: Any, ahead: int | None, base_url: str) -> dict[str, Any]:
    waiting = row.status == "waiting"
    ward = bo.catalog.wards[row.ward]
    wait = (service_estimate(bo, ward, row.service).wait_seconds(ahead)
            if waiting and ahead is not None else 0)
    base = bo.settings.server.public_url or base_url.rstrip("/")
    return {
        "id": row.id, "number": row.label, "ward": row.ward, "service": row.service,
        "service_name": bo.catalog.services[row.service].name, "procedure": row.procedure,
        "priority": row.priority, "language": row.language, "status": row.status,
        "position": ahead + 1 if waiting and ahead is not None else None,
        "people_ahead": ahead if waiting and ahead is not None else 0,
        "estimated_wait_seconds": wait, "fee_yen": row.fee_yen,
        "payment_status": row.payment_status, "counter": row.counter,
        "recall_count": row.recall_count,
        "status_token": row.status_token, "status_url": f"{base}/status/{row.status_token}",
        "issued_at": iso(row.issued_at, bo.tz), "called_at": iso(row.called_at, bo.tz),
        "started_at": iso(row.started_at, bo.tz), "completed_at": iso(row.completed_at, bo.tz),
        "offline": bool(row.offline),
    }


def status_json(bo: Backoffice, row: Any, ahead: int | None) -> dict[str, Any]:
    ward = bo.catalog.wards[row.ward]
    waiting = row.status == "waiting"
    wait = service_estimate(bo, ward, row.service).wait_seconds(ahead or 0) if waiting else 0
    return {
        "number": row.label, "ward": row.ward, "ward_name": ward.name, "service": row.service,
        "service_name": bo.catalog.services[row.service].name, "status": row.status,
        "position": (ahead or 0) + 1 if waiting else None,
        "people_ahead": (ahead or 0) if waiting else 0, "estimated_wait_seconds": wait,
        "counter": row.counter, "issued_at": iso(row.issued_at, bo.tz),
        "called_at": iso(row.called_at, bo.tz), "language": row.language,
    }


# --- events ------------------------------------------------------------------------

_EVENT_PG = text(
    "WITH ev AS (INSERT INTO ticket_events (ticket_id, ward, service, type, at, actor, "
    "device_id, counter, data) VALUES (:ticket_id, :ward, :service, :type, :at, :actor, "
    ":device_id, :counter, :data) RETURNING id) "
    "SELECT id, pg_notify(:channel, '{\"id\":' || id || ',' || :rest) FROM ev"
).bindparams(bindparam("at", type_=DateTime))
_EVENT_SQLITE = text(
    "INSERT INTO ticket_events (ticket_id, ward, service, type, at, actor, device_id, counter, "
    "data) VALUES (:ticket_id, :ward, :service, :type, :at, :actor, :device_id, :counter, "
    ":data) RETURNING id").bindparams(bindparam("at", type_=DateTime))


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
        event_id = conn.execute(_EVENT_SQLITE, params).scalar_one()
    event = {"id": event_id, **event}
    pending.append(event)
    return event


# --- issuing -----------------------------------------------------------------------

def _bump(bo: Backoffice, conn: Connection, ward: str, service: str, day: date, n: int,
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
        raise unprocessable("validation_error", "say which ward: \"ward\" is required")
    ward = ward_of(bo, code)
    principal.check_ward(ward.code)
    procedure = None
    if req.procedure is not None:
        procedure = bo.catalog.procedures.get(req.procedure)
        if procedure is None:
            raise unprocessable("unknown_procedure", f"there is no procedure {req.procedure!r}")
    service = req.service or (procedure.service if procedure else None)
    if service is None:
        raise unprocessable("validation_error", "give a service or a procedure")
    if service not in bo.catalog.services:
        raise unprocessable("unknown_service", f"there is no service {service!r} "
                            f"(services: {', '.join(bo.catalog.services)})")
    if service not in ward.services:
        raise unprocessable("unknown_service",
                            f"ward {ward.code} does not offer service {service!r}")
    if procedure is not None and procedure.service != service:
        raise unprocessable("validation_error", f"procedure {procedure.code} belongs to service "
                            f"{procedure.service!r}, not {service!r}")
    application = None
    if req.application is not None:
        refuse_my_number(req.application, "application")
        if procedure is None:
            raise unprocessable("invalid_application", "an application needs its procedure")
        try:
            application = Application.from_dict(req.application, procedure)
        except ApplicationError as exc:
            raise unprocessable("invalid_application", str(exc), field=exc.key) from None
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


_AHEAD = ("SELECT count(*) FROM tickets w WHERE w.ward = :ward AND w.service = :service "
          "AND w.status = 'waiting' AND (w.rank < :rank OR (w.rank = :rank AND "
          "w.queue_at <= :queue_at))")
# The online number: the sequence value, jumping over the offline range (online_number).
# PostgreSQL: the same count from the trigger-kept waiting_counts (migration 0201): every
# waiting ticket of rank <= ours, less those of our rank queued after us (offline uploads
# stamped slightly ahead; almost always none). The statement's snapshot excludes itself.
_AHEAD_PG = ("(SELECT coalesce(sum(c.n), 0) FROM waiting_counts c WHERE c.ward = :ward "
             "AND c.service = :service AND c.rank <= :rank) - (SELECT count(*) FROM tickets w "
             "WHERE w.ward = :ward AND w.service = :service AND w.status = 'waiting' "
             "AND w.rank = :rank AND w.queue_at > :queue_at)")
_PG_NUMBER = "(CASE WHEN seq.last < :off_first THEN seq.last ELSE seq.last + :off_span END)"
_PG_LABEL = (f"(:prefix || '-' || CASE WHEN {_PG_NUMBER} < 1000 THEN lpad({_PG_NUMBER}::text, 3, "
             f"'0') ELSE {_PG_NUMBER}::text END)")
# PostgreSQL: one statement bumps the sequence, inserts the ticket, writes its audit-trail
# event, NOTIFYs it (delivered at commit) and counts the people ahead.
ISSUE_PG = _sql(
    "WITH seq AS (INSERT INTO ticket_sequences (ward, service, day, last)",
    "VALUES (:ward, :service, :day, 1) ON CONFLICT (ward, service, day)",
    "DO UPDATE SET last = ticket_sequences.last + 1 RETURNING last),",
    "t AS (INSERT INTO tickets (", _TICKET_COLUMNS, ") SELECT",
    _ticket_values(True, _PG_NUMBER, _PG_LABEL, "false"),
    "FROM seq RETURNING id, number, label),",
    "ev AS (INSERT INTO ticket_events (ticket_id, ward, service, type, at, actor, device_id,",
    "counter, data) SELECT t.id, :ward, :service, 'ticket.issued', :at, :actor, :device_id,",
    "NULL, :ev_head || t.id || :ev_mid || '\"' || t.label || '\"' || :ev_tail FROM t",
    "RETURNING id, data)",
    "SELECT t.id, t.number, t.label, (", _AHEAD_PG, ") AS ahead, ev.id AS event_id,",
    "pg_notify(:channel, '{\"id\":' || ev.id || ',' || substr(ev.data, 2)) FROM t, ev")
_ID, _LABEL = "\x00id\x00", "\x00label\x00"


def _issued_event_parts(bo: Backoffice, params: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The ticket.issued event as JSON text cut around the id and number the database
    assigns, so the statement above can assemble it."""
    event = {"type": "ticket.issued", "at": iso(at, bo.tz), "ward": params["ward"],
             "service": params["service"], "counter": None,
             "ticket": {"id": _ID, "number": _LABEL, "status": "waiting",
                        "priority": params["priority"], "service": params["service"],
                        "counter": None, "recall_count": 0}, "data": {}}
    text_ = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    head, rest = text_.split(json.dumps(_ID))
    mid, tail = rest.split(json.dumps(_LABEL))
    return {"ev_head": head, "ev_mid": mid, "ev_tail": tail, "channel": CHANNEL, "at": at}
_BUMP_SQLITE = _sql(
    "INSERT INTO ticket_sequences (ward, service, day, last) VALUES (:ward, :service, :day, 1)",
    "ON CONFLICT (ward, service, day) DO UPDATE SET last = last + 1 RETURNING last")
_INSERT = {pg: _sql("INSERT INTO tickets (", _TICKET_COLUMNS, ") VALUES (",
                    _ticket_values(pg, ":number", ":label", ":offline"), ") RETURNING id")
           for pg in (True, False)}
_AHEAD_SQL = _sql(_AHEAD)


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
    pending: list[dict[str, Any]] = []
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
                return ticket_json(bo, row, int(got.ahead), base_url), True
            else:
                number = online_number(bo, conn.execute(_BUMP_SQLITE, params).scalar_one())
                params.update(number=number, label=label(prefix, number))
                ticket_id = conn.execute(_INSERT[False], params).scalar_one()
                row = new_row(params, ticket_id, number, params["label"])
                ahead = conn.execute(_AHEAD_SQL, params).scalar_one() - 1
            record(bo, conn, pending, type="ticket.issued", ward=ward.code, service=service,
                   ticket=row, counter=None, actor=principal,
                   data={"offline": True} if offline else None)
    except IntegrityError:
        with reading(bo.engine) as conn:
            existing = conn.execute(select(T).where(T.c.idempotency_key == params["key"])
                                    ).first()
            if existing is not None:
                return _replay(bo, conn, existing, params["digest"], base_url), False
        raise conflict("duplicate_number", "that ticket number (or status token) was already used"
                       ) from None
    bo.after_commit(pending)
    return ticket_json(bo, row, ahead, base_url), True


def issue_params(bo: Backoffice, principal: Principal, req: TicketRequest, key: str,
                 now: datetime) -> tuple[Ward, dict[str, Any]]:
    """Check a ticket request against the catalog (4xx when wrong) and build the bound
    parameters of its INSERT. Reads nothing from the database."""
    ward, service, procedure, application = _resolve_request(bo, principal, req)
    offline = req.offline_block is not None
    if offline:
        if principal.device_kind != "kiosk":
            raise ApiError(403, "forbidden", "only kiosks upload offline tickets")
        assert req.offline_issued_at is not None and req.offline_number is not None
        issued_at = to_utc(req.offline_issued_at)
        if issued_at > now + CLOCK_SKEW:
            raise unprocessable("validation_error", "offline.issued_at is in the future")
    else:
        issued_at = now
    return ward, {
        "ward": ward.code, "service": service, "day": office_day(issued_at, bo.tz),
        "prefix": bo.catalog.services[service].prefix, "priority": req.priority,
        "rank": bo.settings.queue.priority_rank[req.priority], "language": req.language,
        "procedure": procedure.code if procedure else None,
        "application": json.dumps(application.to_dict(), ensure_ascii=False)
        if application else None,
        "fee_yen": (application.fee(procedure) if application and procedure
                    else procedure.fee() if procedure else 0),
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
            **_issued_event_parts(bo, params, now)}


def new_row(params: dict[str, Any], ticket_id: int, number: int, label_: str) -> Any:
    """The ticket just inserted, without reading it back."""
    return SimpleNamespace(
        id=ticket_id, number=number, label=label_, ward=params["ward"],
        service=params["service"], procedure=params["procedure"],
        priority=params["priority"], rank=params["rank"], language=params["language"],
        status="waiting", fee_yen=params["fee_yen"], payment_status="none", counter=None,
        recall_count=0, status_token=params["token"], issued_at=params["issued_at"],
        queue_at=params["queue_at"], called_at=None, started_at=None, completed_at=None,
        offline=params["offline"])


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


def reserve_block(bo: Backoffice, principal: Principal, service: str, day: date,
                  size: int, key: str | None = None) -> tuple[dict[str, Any], bool]:
    """Reserve up to `size` numbers of the offline range for this kiosk; returns (block,
    created). Under a key already used by this kiosk the same block comes back (a retry
    whose answer was lost). Near the end of the range the block is shorter; when the range
    is used up: 409 offline_numbers_exhausted."""
    assert principal.ward is not None
    ward = ward_of(bo, principal.ward)
    q = bo.settings.queue
    if service not in bo.catalog.services or service not in ward.services:
        raise unprocessable("unknown_service", f"ward {ward.code} does not offer {service!r}")
    today = office_day(utcnow(), bo.tz)
    if not today <= day <= today + timedelta(days=q.block_days_ahead):
        raise unprocessable("validation_error", f"day must be between {today} and "
                            f"{today + timedelta(days=q.block_days_ahead)}")
    if not 1 <= size <= q.max_block_size:
        raise unprocessable("validation_error", f"size must be 1..{q.max_block_size}")
    digest = hashlib.sha256(f"{ward.code}/{service}/{day}/{size}".encode()).hexdigest()
    b = m.number_blocks
    try:
        with writing(bo.engine) as conn:
            if key is not None:
                row = conn.execute(select(b).where(b.c.device_id == principal.device_id,
                                                   b.c.idempotency_key == key)).first()
                if row is not None:
                    return _block_json(bo, row, digest), False
            last = _bump(bo, conn, ward.code, service, day, size, table=m.block_sequences,
                         start=q.offline_first - 1)
            first = last - size + 1
            if first > q.offline_last:  # raising rolls the bump back
                raise conflict("offline_numbers_exhausted",
                               f"the offline numbers of {service} on {day} "
                               f"({q.offline_first}-{q.offline_last}) are all reserved; "
                               "widen [queue] offline_first/offline_last")
            last = min(last, q.offline_last)  # the rest of the range; later ones get 409
            row = conn.execute(insert(b).values(
                device_id=principal.device_id, ward=ward.code, service=service, day=day,
                first=first, last=last, created_at=utcnow(), idempotency_key=key,
                request_hash=digest).returning(b)).one()
    except IntegrityError:  # the same key raced in from another connection
        with reading(bo.engine) as conn:
            row = conn.execute(select(b).where(b.c.device_id == principal.device_id,
                                               b.c.idempotency_key == key)).first()
        if row is None:
            raise
        return _block_json(bo, row, digest), False
    return _block_json(bo, row, digest), True


def _block_json(bo: Backoffice, row: Any, digest: str) -> dict[str, Any]:
    if row.request_hash is not None and row.request_hash != digest:
        raise conflict("idempotency_mismatch", "this Idempotency-Key was already used for a "
                       "different block request; use a new key for a new block")
    prefix = bo.catalog.services[row.service].prefix
    return {"block_id": row.id, "ward": row.ward, "service": row.service, "prefix": prefix,
            "day": row.day.isoformat(), "first": row.first, "last": row.last,
            "numbers": [label(prefix, row.first), label(prefix, row.last)]}


# --- reading tickets -----------------------------------------------------------------

def purged_info(row: Any, tz: Any) -> dict[str, Any] | None:
    """Said instead of the application once it was purged: when and why (retention.py)."""
    if row.application_purged_at is None:
        return None
    return {"at": iso(row.application_purged_at, tz), "reason": row.application_purge_reason}


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
    if row.application is not None:
        record_read(bo, principal, row, via)
    out = ticket_json(bo, row, ahead, base_url)
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
            raise ApiError(410, "ticket_ended", "this ticket has ended; its status is no "
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


# --- counter actions -----------------------------------------------------------------

def _lock_counter(bo: Backoffice, conn: Connection, ward: Ward, number: int,
                  keep: int | None = None) -> None:
    """Serialize actions on one counter and refuse when it already has a current ticket."""
    conn.execute(select(m.counters.c.number).where(
        m.counters.c.ward == ward.code, m.counters.c.number == number).with_for_update())
    current = conn.execute(select(T.c.id, T.c.label, T.c.status).where(
        T.c.ward == ward.code, T.c.counter == number, T.c.status.in_(OPEN_STATES))).all()
    for c in current:
        if c.id != keep:
            raise conflict("counter_busy", f"counter {number} still has {c.label} ({c.status}); "
                           "complete, hold, transfer or mark it no-show first",
                           ticket=c.id)


def _open_counter(conn: Connection, ward: str, number: int) -> bool:
    """Open the counter if it was closed; True when it was."""
    return bool(conn.execute(update(m.counters).where(
        m.counters.c.ward == ward, m.counters.c.number == number,
        m.counters.c.is_open.is_(False)).values(is_open=True, opened_at=utcnow())).rowcount)


def call_next(bo: Backoffice, principal: Principal, ward_code: str, number: int,
              base_url: str) -> dict[str, Any] | None:
    ward = ward_of(bo, ward_code)
    principal.check_ward(ward.code)
    counter = counter_of(ward, number)
    pending: list[dict[str, Any]] = []
    now = utcnow()
    with writing(bo.engine) as conn:
        _lock_counter(bo, conn, ward, number)
        pick = conn.execute(
            select(T.c.id).where(T.c.ward == ward.code, T.c.service.in_(counter.services),
                                 T.c.status == "waiting")
            .order_by(T.c.rank, T.c.queue_at, T.c.id).limit(1)
            .with_for_update(skip_locked=True)).scalar_one_or_none()
        if pick is None:
            return None
        conn.execute(update(T).where(T.c.id == pick).values(
            status="called", counter=number, called_at=now))
        opened = _open_counter(conn, ward.code, number)
        row = conn.execute(select(T).where(T.c.id == pick)).one()
        record(bo, conn, pending, type="ticket.called", ward=ward.code, service=row.service,
               ticket=row, counter=number, actor=principal)
    if opened:
        bo.estimates.clear()  # an opened counter changes the capacity at once
    bo.after_commit(pending)
    return ticket_json(bo, row, None, base_url)


def act(bo: Backoffice, principal: Principal, ticket_id: int, action: str, *,
        counter: int | None = None, service: str | None = None, note: str | None = None,
        base_url: str = "") -> dict[str, Any]:
    if note:
        refuse_my_number(note, "note")
    pending: list[dict[str, Any]] = []
    now = utcnow()
    with writing(bo.engine) as conn:
        row = conn.execute(select(T).where(T.c.id == ticket_id).with_for_update()).first()
        if row is None:
            raise not_found(f"ticket {ticket_id}")
        principal.check_ward(row.ward)
        ward = bo.catalog.wards[row.ward]
        if principal.kind == "device":
            # A kiosk may only withdraw a ticket it issued and nobody has called yet.
            if row.device_id != principal.device_id or action != "cancel":
                raise ApiError(403, "forbidden", "a kiosk may only cancel tickets it issued")
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
                raise unprocessable("validation_error", f"{action} needs a \"counter\"")
            counter_of(ward, n)
            _lock_counter(bo, conn, ward, n, keep=row.id)
            _open_counter(conn, ward.code, n)
            values.update(counter=n, called_at=now)
            if action == "recall":
                values["recall_count"] = row.recall_count + 1
            event_counter = n
        elif action == "start":
            values["started_at"] = now
        elif action == "complete":
            values["completed_at"] = now
        elif action == "transfer":
            if service is None:
                raise unprocessable("validation_error", "transfer needs a \"service\"")
            if service not in ward.services:
                raise unprocessable("unknown_service",
                                    f"ward {ward.code} does not offer service {service!r}")
            if service == row.service:
                raise conflict("illegal_transition", f"{row.label} is already in {service}")
            values.update(service=service, counter=None, called_at=None, started_at=None)
            if not bo.settings.queue.transfer_keeps_place:
                values["queue_at"] = now
            data["from_service"] = row.service
        if action in ("hold", "no-show", "cancel"):
            values["counter"] = None
        conn.execute(update(T).where(T.c.id == row.id).values(**values))
        row = conn.execute(select(T).where(T.c.id == row.id)).one()
        record(bo, conn, pending, type=EVENT_OF[action], ward=row.ward, service=row.service,
               ticket=row, counter=event_counter, actor=principal, data=data)
        ahead = people_ahead(conn, row) if row.status == "waiting" else None
    if action == "complete":
        bo.estimates.clear()
    bo.after_commit(pending)
    return ticket_json(bo, row, ahead, base_url)


def set_counter_open(bo: Backoffice, principal: Principal, ward_code: str, number: int,
                     is_open_: bool) -> dict[str, Any]:
    ward = ward_of(bo, ward_code)
    principal.check_ward(ward.code)
    counter_of(ward, number)
    pending: list[dict[str, Any]] = []
    with writing(bo.engine) as conn:
        if not is_open_:
            _lock_counter(bo, conn, ward, number)
        conn.execute(update(m.counters).where(
            m.counters.c.ward == ward.code, m.counters.c.number == number).values(
            is_open=is_open_, opened_at=utcnow() if is_open_ else None))
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


# --- views ---------------------------------------------------------------------------

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


def queue_view(bo: Backoffice, ward_code: str, limit: int = 200) -> dict[str, Any]:
    ward = ward_of(bo, ward_code)
    now = utcnow()
    with reading(bo.engine) as conn:
        last_event_id = conn.execute(select(func.max(m.ticket_events.c.id)).where(
            m.ticket_events.c.ward == ward.code)).scalar_one() or 0
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
    }


def replay_events(bo: Backoffice, ward: str, after: int, limit: int) -> list[dict[str, Any]] | None:
    """Events of a ward after `after`, oldest first; None when more than `limit` were missed."""
    e = m.ticket_events
    with reading(bo.engine) as conn:
        rows = conn.execute(select(e.c.id, e.c.data).where(
            e.c.ward == ward, e.c.id > after, e.c.type.not_in(UNPUBLISHED))
            .order_by(e.c.id).limit(limit + 1)).all()
    if len(rows) > limit:
        return None
    return [{"id": r.id, **json.loads(r.data)} for r in rows]
