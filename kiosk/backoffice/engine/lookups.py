"""Lookups the engine's parts share: wards, counters, opening state, estimates, people ahead.

Also the engine's constants (which states hold a counter, which events stay unpublished).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Row,
    bindparam,
    func,
    select,
    tuple_,
)

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import Prepared, reading
from kiosk.backoffice.engine import office_days
from kiosk.backoffice.engine.errors import (
    NotFound,
    not_found,
)
from kiosk.backoffice.estimate import Estimate, estimate
from kiosk.backoffice.principal import Principal
from kiosk.domain.catalog import Counter, Ward

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


def ward_of(bo: Backoffice, code: str) -> Ward:
    ward = bo.catalog.wards.get(code)
    if ward is None:
        raise NotFound("unknown_ward", f"there is no ward {code!r} "
                       f"(wards: {', '.join(bo.catalog.wards)})")
    return ward


def counter_of(ward: Ward, number: int) -> Counter:
    for c in ward.counters:
        if c.number == number:
            return c
    raise not_found(f"counter {number} of ward {ward.code}")


# Built once, values bound per call (docs/statistics.md §6).
_WARD_STATE = select(m.wards.c.state).where(m.wards.c.code == bindparam("code"))
_DURATIONS = Prepared(select(T.c.started_at, T.c.completed_at)
              .where(T.c.ward == bindparam("ward"), T.c.service == bindparam("service"),
                     T.c.completed_at > bindparam("since", type_=DateTime),
                     T.c.started_at.is_not(None))
              .order_by(T.c.completed_at.desc()).limit(bindparam("samples")))
_OPEN_NUMBERS = Prepared(select(m.counters.c.number).where(
    m.counters.c.ward == bindparam("ward"), m.counters.c.is_open.is_(True)))
_AHEAD = Prepared(select(func.count()).select_from(T).where(
    T.c.ward == bindparam("ward"), T.c.service == bindparam("service"),
    T.c.status == "waiting",
    tuple_(T.c.rank, T.c.queue_at, T.c.id) < tuple_(
        bindparam("rank", type_=T.c.rank.type), bindparam("queue_at", type_=DateTime),
        bindparam("id", type_=T.c.id.type))))


def ward_state(bo: Backoffice, code: str) -> str:
    state: str | None = bo.ward_states.get(code)
    if state is None:
        with reading(bo.engine) as conn:
            state = conn.execute(_WARD_STATE, {"code": code}).scalar_one_or_none() or "auto"
        bo.ward_states.put(code, state)
    return state


def is_open(bo: Backoffice, ward: Ward, now: datetime | None = None) -> bool:
    state = ward_state(bo, ward.code)
    if state != "auto":
        return state == "open"
    if not bo.settings.queue.enforce_opening_hours:
        return True
    here = (now or utcnow()).replace(tzinfo=UTC).astimezone(bo.tz)
    day, cal = here.date(), bo.settings.calendar
    if office_days.closed_reason(cal, ward.code, day) is not None:
        return False
    if office_days.special_opening(cal, ward.code, day):   # 休日開庁: its usual hours
        return ward.hours.opens <= here.time() < ward.hours.closes
    return ward.hours.is_open(here.weekday(), here.time())


def service_estimate(bo: Backoffice, ward: Ward, service: str,
                     conn: Connection | None = None) -> Estimate:
    """The served estimate ([queue] estimator), cached a few seconds per ward and service."""
    cached = bo.cached_estimate(ward.code, service)
    if cached is not None:
        return cached
    if conn is not None:
        value = compute_estimate(bo, ward, service, conn)
    else:
        with reading(bo.engine) as c:
            value = compute_estimate(bo, ward, service, c)
    bo.estimates.put((ward.code, service), value)
    return value


def compute_estimate(bo: Backoffice, ward: Ward, service: str, c: Connection,
                     method: str | None = None) -> Estimate:
    """An estimate by `method` (default: the configured one), computed now."""
    q = bo.settings.queue
    if (method or q.estimator) == "clerk":  # issue #22: the better estimate
        from kiosk.backoffice.engine.clerk_inputs import clerk_estimate

        return clerk_estimate(bo, ward, service, c)
    since = utcnow() - timedelta(days=7)
    rows = _DURATIONS.all(c, {"ward": ward.code, "service": service, "since": since,
                              "samples": q.estimate_samples})
    open_numbers = {r[0] for r in _OPEN_NUMBERS.all(c, {"ward": ward.code})}
    durations = [(r.completed_at - r.started_at).total_seconds() for r in rows]
    svc = bo.catalog.services[service]
    return estimate(service, svc.default_service_minutes, durations, ward.counters,
                    open_numbers, q.estimate_prior_weight)


def people_ahead(conn: Connection, row: Row[Any]) -> int:
    return int(_AHEAD.scalar(conn, {"ward": row.ward, "service": row.service, "rank": row.rank,
                                    "queue_at": row.queue_at, "id": row.id}))
