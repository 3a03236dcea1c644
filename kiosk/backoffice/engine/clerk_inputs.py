"""What the clerk estimate (estimate_clerk.py) reads from the database: the counters open
and their schedule, the tickets being served and waiting in call order, the routed visits
that will join, the ward's counter times per procedure and hour, the priority arrivals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import local, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.estimate_clerk import ClerkEstimate, Desk, Waiting, estimate, learned_seconds
from kiosk.domain.catalog import Ward

T = m.tickets
S = m.ticket_stages
HISTORY = timedelta(days=7)
HISTORY_TTL = timedelta(minutes=5)   # counter times change slowly: read them now and then
LIVE = ("called", "serving")

_history: dict[tuple[int, str], tuple[datetime, dict[tuple[str, int], list[float]]]] = {}


def _key(procedures: Any) -> str:
    return "+".join(procedures) if isinstance(procedures, list | tuple) else str(procedures)


def counter_times(bo: Backoffice, conn: Connection, ward: str,
                  now: datetime) -> dict[tuple[str, int], list[float]]:
    """Counter time (call → completion) per (procedures, local hour of the call)."""
    cached = _history.get((id(bo), ward))
    if cached is not None and now - cached[0] < HISTORY_TTL and now >= cached[0]:
        return cached[1]
    since = now - HISTORY
    out: dict[tuple[str, int], list[float]] = defaultdict(list)
    singles = conn.execute(select(T.c.procedure, T.c.service, T.c.called_at, T.c.completed_at)
                           .where(T.c.ward == ward, T.c.completed_at > since,
                                  T.c.called_at.is_not(None), T.c.stage.is_(None)))
    stages = conn.execute(select(S.c.procedures, S.c.service, S.c.called_at, S.c.completed_at)
                          .where(S.c.ward == ward, S.c.completed_at > since,
                                 S.c.called_at.is_not(None)))
    for procedures, service, called, done in [*singles, *stages]:
        seconds = (done - called).total_seconds()
        if 0 < seconds < 4 * 3600:
            hour = local(called, bo.tz).hour  # type: ignore[union-attr]
            out[(_key(procedures or service), hour)].append(seconds)
    _history[(id(bo), ward)] = (now, out)
    return out


def _closures(bo: Backoffice, ward: str,
              now: datetime) -> dict[int, tuple[tuple[float, float], ...]]:
    schedule = getattr(bo, "counter_schedule", None)
    return schedule(ward, now) if schedule is not None else {}


def clerk_estimate(bo: Backoffice, ward: Ward, service: str, conn: Connection) -> ClerkEstimate:
    now = utcnow()
    hour = local(now, bo.tz).hour  # type: ignore[union-attr]
    times = counter_times(bo, conn, ward.code, now)
    defaults = {code: s.default_service_minutes * 60.0 for code, s in bo.catalog.services.items()}

    def seconds(procedures: Any, svc: str) -> float:
        key = _key(procedures or svc)
        return learned_seconds(times, key, hour, defaults[svc])

    open_now = set(conn.execute(select(m.counters.c.number).where(
        m.counters.c.ward == ward.code, m.counters.c.is_open.is_(True))).scalars())
    closed = _closures(bo, ward.code, now)
    serving = [c for c in ward.counters if service in c.services]
    chosen = [c for c in serving if c.number in open_now or c.number in closed]
    if not chosen:
        chosen = serving  # none open: the office's normal staffing (as the learned estimate)
    services = sorted({s for c in chosen for s in c.services})
    numbers = [c.number for c in chosen]
    current = conn.execute(select(T.c.counter, T.c.service, T.c.procedure, T.c.called_at,
                                  S.c.procedures).select_from(T.outerjoin(S, and_(
                                      S.c.ticket_id == T.c.id, S.c.seq == T.c.stage)))
                           .where(T.c.ward == ward.code, T.c.counter.in_(numbers),
                                  T.c.status.in_(LIVE))).all()
    busy: dict[int, float] = {}
    for r in current:
        expected = seconds(r.procedures or r.procedure, r.service)
        spent = (now - r.called_at).total_seconds() if r.called_at else 0.0
        busy[r.counter] = max(expected - spent, 0.25 * expected)
    desks = []
    for c in chosen:
        shut = closed.get(c.number, ())
        if c.number not in open_now and closed and not shut:
            continue
        desks.append(Desk(c.number, c.services, busy.get(c.number, 0.0), shut))
    rows = conn.execute(select(T.c.id, T.c.service, T.c.procedure, T.c.rank, T.c.queue_at,
                               S.c.procedures).select_from(
        T.outerjoin(S, and_(S.c.ticket_id == T.c.id, S.c.seq == T.c.stage)))
        .where(T.c.ward == ward.code, T.c.status == "waiting")
        .order_by(T.c.rank, T.c.queue_at, T.c.id)).all()
    mine = set(services)
    keyed = [((r.rank, r.queue_at), Waiting(r.service, seconds(r.procedures or r.procedure,
                                                                 r.service)))
             for r in rows if r.service in mine]
    keyed += _joining(bo, conn, ward, service, now, seconds, rows, open_now)
    keyed.sort(key=lambda kw: kw[0])
    queue = [w for _, w in keyed]
    mean = seconds(None, service)
    normal = bo.settings.queue.priority_rank["normal"]
    priority = conn.execute(select(func.count()).select_from(T).where(
        T.c.ward == ward.code, T.c.service == service, T.c.rank < normal,
        T.c.issued_at > now - timedelta(hours=1))).scalar_one()
    samples = sum(len(v) for v in times.values())
    return estimate(service, desks, queue, mean, float(priority), samples)


def _joining(bo: Backoffice, conn: Connection, ward: Ward, service: str, now: datetime,
             seconds: Any, waiting: Sequence[Any], open_now: set[int]
             ) -> list[tuple[tuple[int, datetime], Waiting]]:
    """Routed visits in another queue now whose next stage is `service`, with their place in
    its queue ([queue] stage_order) and when they are expected to come: those at a counter
    once their remaining time is up; those waiting once their own queue reaches them."""
    order = bo.settings.queue.stage_order
    if order == "arrival":
        return []  # they join at the back, behind a ticket issued now
    nxt = S.alias("nxt")
    rows = conn.execute(select(T.c.id, T.c.status, T.c.called_at, T.c.issued_at, T.c.rank,
                               T.c.service, T.c.procedure, S.c.procedures,
                               nxt.c.procedures.label("next_procedures"))
                        .select_from(T.join(S, and_(S.c.ticket_id == T.c.id,
                                                    S.c.seq == T.c.stage))
                                     .join(nxt, and_(nxt.c.ticket_id == T.c.id,
                                                     nxt.c.seq == T.c.stage + 1)))
                        .where(T.c.ward == ward.code, T.c.status.in_((*LIVE, "waiting")),
                               nxt.c.service == service)).all()
    if not rows:
        return []
    place: dict[int, int] = {}   # each waiting ticket's place in its queue
    ahead: dict[str, int] = defaultdict(int)
    for r in waiting:
        place[r.id] = ahead[r.service]
        ahead[r.service] += 1
    desks: dict[str, float] = defaultdict(float)
    for c in ward.counters:
        if c.number in open_now:
            for s in c.services:
                desks[s] += 1.0 / len(c.services)
    out = []
    for r in rows:
        here = seconds(r.procedures, r.service)
        if r.status == "waiting":  # its own queue first: the people ahead of it, then itself
            k = place.get(r.id, 0)
            come = (k + 1) * here / max(desks[r.service], 0.5) + here
        else:
            come = max(here - ((now - r.called_at).total_seconds() if r.called_at else 0.0),
                       1.0)
        key = (r.rank, datetime.min if order == "front" else r.issued_at)
        out.append((key, Waiting(service, seconds(r.next_procedures, service),
                                 available_in=come, joiner=True)))
    return out


__all__ = ["clerk_estimate", "counter_times"]
