"""Fuller statistics for ward supervisors and 本庁 (issue #22; docs/statistics.md §1).

One definition for a ward and for every ward side by side: the functions take a list of
ward codes and answer per ward. Everything is read with SQL that runs unchanged on SQLite
and PostgreSQL (the central office's `_base` for the tickets and their wait, plain selects
for the rest) and counted here in Python, so the percentiles are the same nearest-rank ones
on both databases. No HTTP, no page: the routes (web/stats_routes.py) and the charts
(web/stats_view.py) read these dictionaries.

Tables (each a list of flat rows, so each is also a CSV):
* ``summary``       per ward: issued, called, wait p50/p90/mean, share within target;
* ``hours``         per ward × local hour of issue: the same;
* ``weeks``/``months`` per ward × ISO week (``2026-W49``) / month (``2026-12``): the same
  plus the mean service time;
* ``service_times`` per ward × service × procedure: start → completion (n, mean, p50, p90);
* ``counters``      per ward × counter: tickets completed, no-shows, mean service time, time
  open, time busy, share of open time busy;
* ``life_events``   per ward × life event: visits, completed, time in office
  (first issue → last completion) mean / p50 / p90;
* ``appointments``  per ward × service: booked, checked in (on time / late), no-shows,
  arrival and call relative to the slot.

And, for a ward's supervisors only, ``staff_figures``: per staff member, over at least
MIN_STAFF_DAYS office days, only members with at least MIN_STAFF_TICKETS completions shown
by name, the rest pooled; ordered by name, never by a figure (docs/statistics.md §1.3).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, select

from kiosk.backoffice import models as m
from kiosk.backoffice.central import Period, _base, seconds_between
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading
from kiosk.domain.catalog import Catalog

T = m.tickets
S = m.ticket_stages
E = m.ticket_events
A = m.appointments

TABLES = ("summary", "hours", "weeks", "months", "service_times", "counters", "life_events",
          "appointments")
MIN_STAFF_DAYS = 7        # per-staff figures only over a week or more
MIN_STAFF_TICKETS = 30    # a member with fewer completions is pooled with the others
ON_TIME_SECONDS = 300     # an appointment "called on time": within 5 minutes of its slot

# the audit trail's events the counters and staff figures are walked from
CALLS = ("ticket.called", "ticket.recalled")
ENDS = ("ticket.completed", "visit.stage_completed", "ticket.no_show", "ticket.held",
        "ticket.transferred", "ticket.cancelled")
COUNTER_EVENTS = ("counter.opened", "counter.closed")
DONE = ("ticket.completed", "visit.stage_completed")


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile: the ⌈q·n⌉-th smallest value (None when empty) — the
    central office's 90th percentile (central.py) for every q."""
    if not sorted_values:
        return None
    k = max(math.ceil(q * len(sorted_values) - 1e-9), 1)
    return sorted_values[k - 1]


def _sec(value: float | None) -> int | None:
    return None if value is None else max(round(value), 0)


@dataclass
class Waits:
    """Tickets of one group: how many were issued, called, and their waits."""

    issued: int = 0
    waits: list[float] = field(default_factory=list)
    within: int = 0
    served: list[float] = field(default_factory=list)  # service times, when kept

    def add(self, wait: float | None, target: float | None) -> None:
        self.issued += 1
        if wait is not None:
            w = max(float(wait), 0.0)
            self.waits.append(w)
            self.within += target is not None and w <= target

    def row(self) -> dict[str, Any]:
        s = sorted(self.waits)
        n = len(s)
        return {"issued": self.issued, "called": n,
                "mean_wait_seconds": _sec(sum(s) / n) if n else None,
                "p50_wait_seconds": _sec(percentile(s, 0.5)),
                "p90_wait_seconds": _sec(percentile(s, 0.9)),
                "within_target_share": round(self.within / n, 4) if n else None}


def _spread(values: Iterable[float]) -> dict[str, Any]:
    s = sorted(max(float(v), 0.0) for v in values)
    n = len(s)
    return {"n": n, "mean_seconds": _sec(sum(s) / n) if n else None,
            "p50_seconds": _sec(percentile(s, 0.5)), "p90_seconds": _sec(percentile(s, 0.9))}


def _local(moment: datetime, tz: tzinfo) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(tz)


class LocalHours:
    """(office day, local hour) of naive-UTC moments, converted once per UTC hour (a zone's
    offset changes on the hour at the finest) — the statistics convert every row."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.seen: dict[int, tuple[date, int]] = {}

    def __call__(self, moment: datetime) -> tuple[date, int]:
        key = moment.toordinal() * 24 + moment.hour
        found = self.seen.get(key)
        if found is None:
            at = _local(moment, self.tz)
            found = self.seen[key] = (at.date(), at.hour)
        return found


def utc_bounds(period: Period, tz: tzinfo) -> tuple[datetime, datetime]:
    """The period's office days as naive UTC [start, end)."""
    def start(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
    return start(period.first), start(period.last + timedelta(days=1))


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# ------------------------------------------------------------------------------ waits
def _wait_tables(conn: Any, catalog: Catalog, period: Period, wards: list[str],
                 tz: tzinfo, service_times: dict[tuple[str, date], list[float]]
                 ) -> dict[str, list[dict[str, Any]]]:
    known = sorted({*catalog.services, *conn.execute(select(m.services.c.code)).scalars()})
    base = _base(catalog, period, wards, known, extra=(T.c.day,))
    rows = conn.execute(select(base.c.ward, base.c.issued_at, base.c.wait, base.c.target,
                               base.c.day)).all()
    summary: dict[str, Waits] = defaultdict(Waits)
    hours: dict[tuple[str, int], Waits] = defaultdict(Waits)
    weeks: dict[tuple[str, str], Waits] = defaultdict(Waits)
    months: dict[tuple[str, str], Waits] = defaultdict(Waits)
    local = LocalHours(tz)
    labels: dict[date, tuple[str, str]] = {}  # office day → (ISO week, month)
    for ward, issued_at, wait, target, day in rows:
        week, month = labels.get(day) or labels.setdefault(day, (iso_week(day),
                                                                  f"{day:%Y-%m}"))
        for acc in (summary[ward], hours[(ward, local(issued_at)[1])], weeks[(ward, week)],
                    months[(ward, month)]):
            acc.add(wait, target)
    for (ward, day), values in service_times.items():
        weeks[(ward, iso_week(day))].served += values
        months[(ward, f"{day:%Y-%m}")].served += values
        summary[ward].served += values

    def trend(cells: dict[tuple[str, str], Waits], key: str) -> list[dict[str, Any]]:
        return [{"ward": w, key: k, **cells[(w, k)].row(),
                 "mean_service_seconds": _spread(cells[(w, k)].served)["mean_seconds"]}
                for w, k in sorted(cells, key=lambda wk: (wards.index(wk[0]), wk[1]))]

    return {
        "summary": [{"ward": w, **summary[w].row(),
                     "mean_service_seconds": _spread(summary[w].served)["mean_seconds"]}
                    for w in wards],
        "hours": [{"ward": w, "hour": h, **hours[(w, h)].row()}
                  for w, h in sorted(hours, key=lambda wh: (wards.index(wh[0]), wh[1]))],
        "weeks": trend(weeks, "week"), "months": trend(months, "month")}


# ------------------------------------------------------------------------------ service
def _service_rows(conn: Any, period: Period, wards: list[str]) -> list[Any]:
    """(ward, day, service, procedure, seconds) of every completed service: one-queue
    tickets from start to completion, each stage of a routed visit from its own start to
    its own completion (its procedures joined by "+")."""
    in_period = (T.c.ward.in_(wards), T.c.day >= period.first, T.c.day <= period.last)
    single = conn.execute(
        select(T.c.ward, T.c.day, T.c.service, T.c.procedure,
               seconds_between(T.c.started_at, T.c.completed_at).label("seconds"))
        .where(*in_period, T.c.stage.is_(None), T.c.status == "done",
               T.c.started_at.is_not(None), T.c.completed_at.is_not(None))).all()
    staged = conn.execute(
        select(S.c.ward, T.c.day, S.c.service, S.c.procedures,
               seconds_between(S.c.started_at, S.c.completed_at).label("seconds"))
        .join(T, T.c.id == S.c.ticket_id)
        .where(*in_period, S.c.status == "done", S.c.started_at.is_not(None),
               S.c.completed_at.is_not(None))).all()
    out = [(r.ward, r.day, r.service, r.procedure or "", float(r.seconds)) for r in single]
    out += [(r.ward, r.day, r.service, "+".join(r.procedures or []), float(r.seconds))
            for r in staged]
    return out


def _service_table(rows: list[Any], wards: list[str]) -> list[dict[str, Any]]:
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for ward, _day, service, procedure, seconds in rows:
        cells[(ward, service, "")].append(seconds)  # the service as a whole
        if procedure:
            cells[(ward, service, procedure)].append(seconds)
    return [{"ward": w, "service": s, "procedure": p or None, **_spread(cells[(w, s, p)])}
            for w, s, p in sorted(cells, key=lambda k: (wards.index(k[0]), k[1], k[2]))]


# ------------------------------------------------------------------------------ counters
@dataclass
class Session:
    """A ticket at a counter: from its call to how that ended."""

    counter: int
    called: datetime
    started: datetime | None = None


@dataclass
class CounterDay:
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)
    opened: list[tuple[datetime, datetime]] = field(default_factory=list)
    open_since: datetime | None = None
    last: datetime | None = None


@dataclass
class Walk:
    """What the audit trail says about counters and who completed what."""

    days: dict[tuple[str, int, date], CounterDay] = field(
        default_factory=lambda: defaultdict(CounterDay))
    done: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    no_shows: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    staff: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    staff_days: dict[tuple[str, str], set[date]] = field(
        default_factory=lambda: defaultdict(set))


def walk_events(conn: Any, wards: list[str], since: datetime, until: datetime,
                tz: tzinfo) -> Walk:
    """Walk the period's trail in order: a call opens a session at its counter (a recall
    keeps it), `ticket.started` marks the service's start, and a completion, no-show,
    hold, transfer or cancellation ends it; counters' opened/closed events give their
    open time."""
    rows = conn.execute(
        select(E.c.ticket_id, E.c.ward, E.c.type, E.c.at, E.c.counter, E.c.actor)
        .where(E.c.ward.in_(wards), E.c.at >= since, E.c.at < until,
               E.c.type.in_((*CALLS, "ticket.started", *ENDS, *COUNTER_EVENTS)))
        .order_by(E.c.at, E.c.id)).all()
    walk = Walk()
    local = LocalHours(tz)
    sessions: dict[int, Session] = {}
    for ticket, ward, kind, at, counter, actor in rows:
        if kind in COUNTER_EVENTS:
            if counter is None:
                continue
            cd = walk.days[(ward, int(counter), local(at)[0])]
            if kind == "counter.opened":
                cd.open_since = cd.open_since or at
            elif cd.open_since is not None:
                cd.opened.append((cd.open_since, at))
                cd.open_since = None
            cd.last = at
            continue
        if ticket is None:
            continue
        if kind in CALLS:
            if counter is not None and (ticket not in sessions
                                        or sessions[ticket].counter != counter):
                sessions[ticket] = Session(int(counter), at)
        elif kind == "ticket.started":
            if ticket in sessions:
                sessions[ticket].started = at
        else:
            session = sessions.pop(ticket, None)
            if session is None:
                continue
            key = (ward, session.counter)
            cd = walk.days[(ward, session.counter, local(session.called)[0])]
            cd.busy.append((session.called, at))
            cd.last = max(cd.last or at, at)
            if kind in DONE and session.started is not None:
                seconds = (at - session.started).total_seconds()
                walk.done[key].append(seconds)
                if actor:
                    walk.staff[(ward, actor)].append(seconds)
                    walk.staff_days[(ward, actor)].add(local(at)[0])
            elif kind == "ticket.no_show":
                walk.no_shows[key] += 1
    return walk


def _merged_seconds(intervals: Iterable[tuple[datetime, datetime]]) -> float:
    total, end = 0.0, None
    start: datetime | None = None
    for a, b in sorted(intervals):
        if start is None or end is None or a > end:
            if start is not None and end is not None:
                total += (end - start).total_seconds()
            start, end = a, b
        else:
            end = max(end, b)
    if start is not None and end is not None:
        total += (end - start).total_seconds()
    return total


def _counter_table(walk: Walk, catalog: Catalog, wards: list[str], now: datetime,
                   today: date) -> list[dict[str, Any]]:
    """Open time: the counter's opened → closed spans, a span left open ending at the
    counter's last activity of that office day (at `now` on `today`), united with its busy
    spans (a call opens a closed counter without an event of its own)."""
    open_s: dict[tuple[str, int], float] = defaultdict(float)
    busy_s: dict[tuple[str, int], float] = defaultdict(float)
    for (ward, number, _day), cd in walk.days.items():
        spans = list(cd.opened)
        if cd.open_since is not None:  # still open: today until now, else its last activity
            end = now if _day == today else max(cd.last or cd.open_since, cd.open_since)
            spans.append((cd.open_since, end))
        open_s[(ward, number)] += _merged_seconds(spans + cd.busy)
        busy_s[(ward, number)] += _merged_seconds(cd.busy)
    out = []
    for w in wards:
        numbers = [c.number for c in catalog.wards[w].counters] if w in catalog.wards else []
        numbers += sorted({n for (ww, n) in open_s if ww == w} - set(numbers))
        for n in numbers:
            key = (w, n)
            served = _spread(walk.done.get(key, []))
            opened, busy = open_s.get(key, 0.0), busy_s.get(key, 0.0)
            out.append({"ward": w, "counter": n, "completed": served["n"],
                        "no_shows": walk.no_shows.get(key, 0),
                        "mean_service_seconds": served["mean_seconds"],
                        "open_seconds": round(opened), "busy_seconds": round(busy),
                        "busy_share": round(min(busy / opened, 1.0), 4) if opened else None})
    return out


# ------------------------------------------------------------------------------ visits
def _life_event_table(conn: Any, period: Period, wards: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(T.c.ward, T.c.life_event, T.c.status,
               seconds_between(T.c.issued_at, T.c.completed_at).label("seconds"))
        .where(T.c.ward.in_(wards), T.c.day >= period.first, T.c.day <= period.last,
               T.c.stage.is_not(None))).all()
    cells: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        cells[(r.ward, r.life_event or "")].append(r)
        cells[(r.ward, "*")].append(r)
    out = []
    for w, event in sorted(cells, key=lambda k: (wards.index(k[0]), k[1] != "*", k[1])):
        visits = cells[(w, event)]
        done = [float(r.seconds) for r in visits if r.status == "done" and r.seconds is not None]
        spread = _spread(done)
        out.append({"ward": w, "life_event": None if event == "*" else (event or "-"),
                    "visits": len(visits), "completed": spread["n"],
                    "mean_time_in_office_seconds": spread["mean_seconds"],
                    "p50_time_in_office_seconds": spread["p50_seconds"],
                    "p90_time_in_office_seconds": spread["p90_seconds"]})
    return out


def _appointment_table(conn: Any, period: Period, wards: list[str], now: datetime,
                       no_show_minutes: int) -> list[dict[str, Any]]:
    """Bookings whose slot fell in the period (cancelled, expired and unconfirmed holds
    left out). A booking still `booked` `no_show_minutes` after its slot is a no-show."""
    first_call = (select(E.c.ticket_id, E.c.at).where(E.c.type == "ticket.called")
                  .order_by(E.c.ticket_id, E.c.at))
    rows = conn.execute(
        select(A.c.id, A.c.ward, A.c.service, A.c.status, A.c.slot_at, A.c.checked_in_at,
               A.c.ticket_id)
        .where(A.c.ward.in_(wards), A.c.day >= period.first, A.c.day <= period.last,
               A.c.status.in_(("booked", "checked_in", "late", "no_show")))).all()
    tickets = [r.ticket_id for r in rows if r.ticket_id is not None]
    called: dict[int, datetime] = {}
    for i in range(0, len(tickets), 500):
        for tid, at in conn.execute(first_call.where(E.c.ticket_id.in_(tickets[i:i + 500]))):
            called.setdefault(tid, at)
    cells: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        cells[(r.ward, r.service)].append(r)
    out = []
    missed_after = timedelta(minutes=no_show_minutes)
    for w, service in sorted(cells, key=lambda k: (wards.index(k[0]), k[1])):
        group = cells[(w, service)]
        arrived = sorted((r.checked_in_at - r.slot_at).total_seconds() for r in group
                         if r.checked_in_at is not None)
        calls = sorted((called[r.ticket_id] - r.slot_at).total_seconds() for r in group
                       if r.ticket_id in called)
        no_shows = sum(1 for r in group if r.status == "no_show" or (
            r.status == "booked" and r.slot_at + missed_after < now))
        due = sum(1 for r in group if r.status != "booked" or r.slot_at + missed_after < now)
        out.append({
            "ward": w, "service": service, "booked": len(group),
            "checked_in": sum(1 for r in group if r.status == "checked_in"),
            "late": sum(1 for r in group if r.status == "late"), "no_shows": no_shows,
            "no_show_share": round(no_shows / due, 4) if due else None,
            "p50_arrival_vs_slot_seconds": _signed(percentile(arrived, 0.5)),
            "called": len(calls),
            "p50_call_vs_slot_seconds": _signed(percentile(calls, 0.5)),
            "p90_call_vs_slot_seconds": _signed(percentile(calls, 0.9)),
            "called_on_time_share": round(sum(1 for c in calls if c <= ON_TIME_SECONDS)
                                          / len(calls), 4) if calls else None})
    return out


def _signed(value: float | None) -> int | None:
    return None if value is None else round(value)


# ------------------------------------------------------------------------------ entry
def statistics(engine: Engine, catalog: Catalog, period: Period, wards: Iterable[str],
               tz: tzinfo, now: datetime, *, no_show_minutes: int = 30
               ) -> dict[str, Any]:
    """Every table for `wards` over `period` (office days; `now` naive UTC)."""
    codes = [w for w in wards if w in catalog.wards]
    since, until = utc_bounds(period, tz)
    with reading(engine) as conn:
        served = _service_rows(conn, period, codes)
        by_day: dict[tuple[str, date], list[float]] = defaultdict(list)
        for ward, day, _service, _procedure, seconds in served:
            by_day[(ward, day)].append(seconds)
        tables: dict[str, Any] = _wait_tables(conn, catalog, period, codes, tz, by_day)
        tables["service_times"] = _service_table(served, codes)
        tables["counters"] = _counter_table(walk_events(conn, codes, since, until, tz),
                                            catalog, codes, now, _local(now, tz).date())
        tables["life_events"] = _life_event_table(conn, period, codes)
        tables["appointments"] = _appointment_table(conn, period, codes, now, no_show_minutes)
    return {"from": period.first.isoformat(), "to": period.last.isoformat(),
            "wards": codes, **tables}


def of_backoffice(bo: Backoffice, period: Period, wards: Iterable[str]) -> dict[str, Any]:
    """`statistics` with the server's engine, catalog, time zone, clock and settings."""
    return statistics(bo.engine, bo.catalog, period, wards, bo.tz, utcnow(),
                      no_show_minutes=bo.settings.appointments.no_show_minutes)


class TooShort(ValueError):
    """Per-staff figures were asked over less than MIN_STAFF_DAYS office days."""


def staff_figures(engine: Engine, period: Period, ward: str, tz: tzinfo, *,
                  min_days: int = MIN_STAFF_DAYS, min_tickets: int = MIN_STAFF_TICKETS
                  ) -> dict[str, Any]:
    """Per staff member of `ward`: completions, office days with a completion, mean and
    median service time — over ≥ `min_days` office days; members with fewer than
    `min_tickets` completions pooled into one row; ordered by username."""
    if period.days < min_days:
        raise TooShort(f"per-staff figures need a period of at least {min_days} office days")
    since, until = utc_bounds(period, tz)
    with reading(engine) as conn:
        walk = walk_events(conn, [ward], since, until, tz)
    members, pooled, pooled_people = [], [], 0
    all_times: list[float] = []
    for (w, actor), times in sorted(walk.staff.items(), key=lambda kv: kv[0][1]):
        all_times += times
        if len(times) < min_tickets:
            pooled += times
            pooled_people += 1
            continue
        spread = _spread(times)
        members.append({"username": actor, "completed": spread["n"],
                        "days": len(walk.staff_days[(w, actor)]),
                        "mean_service_seconds": spread["mean_seconds"],
                        "p50_service_seconds": spread["p50_seconds"]})
    rest, total = _spread(pooled), _spread(all_times)
    return {"from": period.first.isoformat(), "to": period.last.isoformat(), "ward": ward,
            "min_days": min_days, "min_tickets": min_tickets, "staff": members,
            "others": {"people": pooled_people, "completed": rest["n"],
                       "mean_service_seconds": rest["mean_seconds"],
                       "p50_service_seconds": rest["p50_seconds"]},
            "ward_total": {"people": len(walk.staff), "completed": total["n"],
                           "mean_service_seconds": total["mean_seconds"],
                           "p50_service_seconds": total["p50_seconds"]}}
