"""The central office's (本庁) figures across wards: waits now and service levels over a period.

Everything is counted in SQL that runs unchanged on SQLite and PostgreSQL (window
functions for the 90th percentile, a dialect-compiled `seconds_between` for durations),
from the tickets and their audit trail only — never from the application data: the
central view carries no personal data.

Definitions (docs/web.md repeats them for the reader of the figures):
* the period is a range of office days (`tickets.day`), both ends included;
* a ticket counts in the service whose letter is printed on it (`origin_service`) and in
  the procedure the kiosk recorded for it;
* its wait runs from issuing to its *first* call (the audit trail's first
  `ticket.called`; the ticket's own `called_at` when the trail has none), so a recall
  or a later transfer does not stretch it;
* "within target" is the share of the called tickets whose wait was at most the service's
  `target_wait_minutes` (config/catalog.toml);
* the 90th percentile is the nearest-rank one: the ⌈0.9·n⌉-th smallest wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Float, and_, case, func, literal, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from kiosk.backoffice import models as m
from kiosk.backoffice.db import reading
from kiosk.domain.catalog import Catalog

T = m.tickets
E = m.ticket_events
MAX_PERIOD_DAYS = 366


class seconds_between(FunctionElement[float]):  # named as the SQL function
    """SQL: seconds from the first datetime to the second (NULL if either is NULL)."""
    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between)
def _seconds_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS DOUBLE PRECISION)"


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the period ends ({self.last}) before it starts ({self.first})")
        if (self.last - self.first).days >= MAX_PERIOD_DAYS:
            raise ValueError(f"a period is at most {MAX_PERIOD_DAYS} days")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


# ------------------------------------------------------------------------------ now
def now_figures(engine: Engine, catalog: Catalog, now: datetime) -> list[dict[str, Any]]:
    """Per ward, at `now` (naive UTC): waiting, longest current wait, counters open —
    in total and per service. Numbers only."""
    waited = seconds_between(func.min(T.c.queue_at), literal(now, T.c.queue_at.type))
    wards = list(catalog.wards)
    with reading(engine) as conn:
        # ward, service and status named: the queue index (ix_tickets_queue) answers
        waiting = conn.execute(
            select(T.c.ward, T.c.service, func.count().label("n"), waited.label("longest"))
            .where(T.c.ward.in_(wards), T.c.service.in_(list(catalog.services)),
                   T.c.status == "waiting").group_by(T.c.ward, T.c.service)).all()
        at_counters = conn.execute(
            select(T.c.ward, func.count().label("n"))
            .where(T.c.ward.in_(wards), T.c.counter.is_not(None),
                   T.c.status.in_(("called", "serving"))).group_by(T.c.ward)).all()
        open_rows = conn.execute(select(m.counters.c.ward, m.counters.c.number)
                                 .where(m.counters.c.is_open.is_(True))).all()
    by_service = {(r.ward, r.service): (int(r.n), _seconds(r.longest)) for r in waiting}
    serving = {r.ward: int(r.n) for r in at_counters}
    open_counters = {(r.ward, int(r.number)) for r in open_rows}
    out = []
    for ward in catalog.wards.values():
        services: list[dict[str, Any]] = []
        for code in ward.services:
            count, longest = by_service.get((ward.code, code), (0, None))
            services.append({
                "service": code, "waiting": count, "longest_wait_seconds": longest,
                "target_wait_seconds": catalog.services[code].target_wait_minutes * 60,
                "counters_open": sum(1 for c in ward.counters if code in c.services
                                     and (ward.code, c.number) in open_counters)})
        longest_all: list[int] = [s["longest_wait_seconds"] for s in services
                                  if s["longest_wait_seconds"] is not None]
        opened = sum(1 for c in ward.counters if (ward.code, c.number) in open_counters)
        out.append({
            "ward": ward.code, "waiting": sum(s["waiting"] for s in services),
            "longest_wait_seconds": max(longest_all) if longest_all else None,
            "at_counters": serving.get(ward.code, 0),
            "counters_open": opened,
            "counters": len(ward.counters), "services": services})
    return out


# ------------------------------------------------------------------------------ period
def _targets(catalog: Catalog) -> ColumnElement[Any]:
    return case({code: s.target_wait_minutes * 60 for code, s in catalog.services.items()},
                value=T.c.origin_service, else_=None)


def _base(catalog: Catalog, period: Period, wards: Sequence[str],
          services: Sequence[str], extra: Sequence[Any] = ()) -> Any:
    """One row per ticket of the period: where it was, how it ended, how long it waited
    (and the `extra` ticket columns a caller needs, e.g. the office day: stats.py)."""
    # every service named, so the (ward, origin_service, day, number) key finds the days
    in_period = (T.c.ward.in_(wards), T.c.origin_service.in_(services),
                 T.c.day >= period.first, T.c.day <= period.last)
    # only the period's tickets' trails (not the whole audit table) are read
    first_call = (select(E.c.ticket_id, func.min(E.c.at).label("at"))
                  .join(T, T.c.id == E.c.ticket_id)
                  .where(E.c.type == "ticket.called", *in_period)
                  .group_by(E.c.ticket_id).subquery())
    called = func.coalesce(first_call.c.at, T.c.called_at)
    return (select(T.c.ward, T.c.origin_service.label("service"),
                   func.coalesce(T.c.procedure, "").label("procedure"), T.c.status,
                   T.c.issued_at,  # the hour of day (central_hours.py)
                   seconds_between(T.c.issued_at, called).label("wait"),
                   _targets(catalog).label("target"), *extra)
            .select_from(T.outerjoin(first_call, first_call.c.ticket_id == T.c.id))
            .where(*in_period)
            .cte("base").prefix_with("MATERIALIZED"))


def _grouping(base: Any, kind: str, key: str | None) -> Any:
    """The figures of one grouping (per ward, or per ward and `key`) as rows (kind, ward,
    code, ...): counts, mean, and the nearest-rank 90th percentile — waits ranked within
    the group (never called = NULL, last), the ⌈0.9·n⌉-th kept, ⌈0.9·n⌉ = (9n + 9) / 10."""
    parts = [base.c.ward] + ([base.c[key]] if key else [])
    ranked = select(
        base.c.ward, (base.c[key] if key else literal("")).label("code"),
        base.c.status, base.c.wait, base.c.target,
        func.row_number().over(partition_by=parts, order_by=base.c.wait.asc().nulls_last())
        .label("rn"),
        func.count(base.c.wait).over(partition_by=parts).label("n")).subquery()
    wait = ranked.c.wait
    return select(
        literal(kind).label("kind"), ranked.c.ward, ranked.c.code,
        func.count().label("issued"),
        func.sum(case((ranked.c.status == "done", 1), else_=0)).label("served"),
        func.sum(case((ranked.c.status == "no_show", 1), else_=0)).label("no_shows"),
        func.sum(case((ranked.c.status == "cancelled", 1), else_=0)).label("cancelled"),
        func.count(wait).label("called"),
        func.avg(wait).label("mean_wait"),
        func.sum(case((and_(wait.is_not(None), wait <= ranked.c.target), 1), else_=0))
        .label("within"),
        func.min(case((and_(wait.is_not(None), ranked.c.rn == (ranked.c.n * 9 + 9) // 10),
                       wait))).label("p90"),
    ).group_by(ranked.c.ward, ranked.c.code)


def _figures(conn: Any, base: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    """{(kind, ward, code): figures} for kind ward / service / procedure, in one statement
    over the period's tickets (read once: the CTE is materialized)."""
    rows = conn.execute(union_all(_grouping(base, "ward", None),
                                  _grouping(base, "service", "service"),
                                  _grouping(base, "procedure", "procedure"))).all()
    out = {}
    for r in rows:
        called_n, within = int(r.called), int(r.within or 0)
        out[(r.kind, r.ward, r.code)] = {
            "issued": int(r.issued), "served": int(r.served or 0),
            "no_shows": int(r.no_shows or 0), "cancelled": int(r.cancelled or 0),
            "called": called_n, "mean_wait_seconds": _seconds(r.mean_wait),
            "p90_wait_seconds": _seconds(r.p90), "within_target": within,
            "within_target_share": round(within / called_n, 4) if called_n else None,
        }
    return out


def period_figures(engine: Engine, catalog: Catalog, period: Period,
                   wards: Iterable[str] | None = None) -> dict[str, Any]:
    """Per ward (and per service and per procedure within it) over `period`."""
    codes = [w for w in (wards or catalog.wards) if w in catalog.wards]
    with reading(engine) as conn:
        # the services table keeps every service ever synced, also one since dropped
        known = sorted({*catalog.services, *conn.execute(select(m.services.c.code)).scalars()})
        figures = _figures(conn, _base(catalog, period, codes, known))
    empty = _grouped_empty()
    out_wards = []
    for code in codes:
        ward = catalog.wards[code]
        seen = {kind: [k[2] for k in figures if k[:2] == (kind, code)]
                for kind in ("service", "procedure")}
        services = [{"service": s, "target_wait_seconds": _target(catalog, s),
                     **figures.get(("service", code, s), empty)}
                    for s in _ordered(ward.services, seen["service"])]
        procedures = [{"procedure": p or None, **figures[("procedure", code, p)]}
                      for p in sorted(seen["procedure"], key=lambda p: (p == "", p))]
        out_wards.append({"ward": code, **figures.get(("ward", code, ""), empty),
                          "services": services, "procedures": procedures})
    return {"from": period.first.isoformat(), "to": period.last.isoformat(),
            "wards": out_wards}


def _target(catalog: Catalog, service: str) -> int | None:
    found = catalog.services.get(service)
    return found.target_wait_minutes * 60 if found else None


def _grouped_empty() -> dict[str, Any]:
    return {"issued": 0, "served": 0, "no_shows": 0, "cancelled": 0, "called": 0,
            "mean_wait_seconds": None, "p90_wait_seconds": None, "within_target": 0,
            "within_target_share": None}


def _ordered(configured: Iterable[str], seen: Iterable[str]) -> list[str]:
    """The ward's services in catalog order, then any others that had tickets."""
    out = list(configured)
    out += sorted(set(seen) - set(out))
    return out


def _seconds(value: Any) -> int | None:
    return None if value is None else max(round(float(value)), 0)


# ------------------------------------------------------------------------------ rows
COLUMNS = ("ward", "kind", "code", "issued", "served", "no_shows", "cancelled", "called",
           "mean_wait_seconds", "p90_wait_seconds", "target_wait_seconds", "within_target",
           "within_target_share")


def flat_rows(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The period's figures as one row per ward, ward × service and ward × procedure
    (`kind` = ward | service | procedure) — the CSV's rows."""
    rows: list[dict[str, Any]] = []
    for w in figures["wards"]:
        rows.append({"ward": w["ward"], "kind": "ward", "code": "", **_pick(w)})
        for s in w["services"]:
            rows.append({"ward": w["ward"], "kind": "service", "code": s["service"], **_pick(s)})
        for p in w["procedures"]:
            rows.append({"ward": w["ward"], "kind": "procedure", "code": p["procedure"] or "",
                         **_pick(p)})
    return rows


def _pick(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in COLUMNS[3:]}
