"""Staffing what-ifs from a ward's own history (issue #22): "with N counters open 9-11 on
Mondays in March, the p90 wait would be X".

The ward's past days that match (a weekday, some months) are turned back into arrivals —
each ticket's issue time, its route, its counter time per stage (call → completion, so the
walk is in it), no-show and priority as they were — and each day is replayed through the
real engine on a scratch database twice: with the ward's configured counters all day (the
baseline) and with `counters` counters of `service` during the window instead. The
assumptions (ASSUMPTIONS) go with every answer.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, select

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import to_utc
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading
from kiosk.backoffice.simulation.day import Arrival, Day, Shift
from kiosk.backoffice.simulation.report import percentile

T, S = m.tickets, m.ticket_stages
ASSUMPTIONS = ("the residents come as they came (nobody stays away because of a queue); "
               "counter times are as measured, whoever serves; the configured counters all "
               "day as the baseline, and outside the window and for other services in the "
               "what-if; cancelled and offline tickets are left out")
WALK_MINUTES = 0.5  # the driver adds the walk; counter time already holds it


def _minutes(called: datetime | None, done: datetime | None) -> float | None:
    if called is None or done is None:
        return None
    return max((done - called).total_seconds() / 60 - WALK_MINUTES, 0.5)


def history_days(bo: Backoffice, ward: str, weekday: int | None,
                 months: set[int] | None) -> list[date]:
    with reading(bo.engine) as conn:
        days = conn.execute(select(T.c.day).where(T.c.ward == ward).distinct()).scalars()
        return sorted(d for d in days if (weekday is None or d.weekday() == weekday)
                      and (months is None or d.month in months))


def day_from_history(bo: Backoffice, ward: str, day: date) -> Day:
    w = bo.catalog.wards[ward]
    opening = to_utc(datetime.combine(day, w.hours.opens, tzinfo=bo.tz).astimezone(UTC))
    with reading(bo.engine) as conn:
        tickets = conn.execute(select(T).where(T.c.ward == ward, T.c.day == day,
                                               T.c.status != "cancelled",
                                               T.c.offline.is_(False))).all()
        stages: dict[int, list[Any]] = defaultdict(list)
        for s in conn.execute(select(S).select_from(S.join(T, and_(T.c.id == S.c.ticket_id)))
                              .where(T.c.ward == ward, T.c.day == day).order_by(S.c.seq)):
            stages[s.ticket_id].append(s)
    arrivals = []
    for t in tickets:
        at = max((t.issued_at - opening).total_seconds(), 0.0)
        if t.stage is not None:
            done = [s for s in stages[t.id] if s.status == "done"]
            if not done:
                continue
            route = tuple((s.service, tuple(s.procedures)) for s in done)
            mins = tuple(_minutes(s.called_at, s.completed_at) or 1.0 for s in done)
            arrivals.append(Arrival(at, ward, route, mins, priority=t.priority,
                                    life_event=t.life_event))
            continue
        mins_one = _minutes(t.called_at, t.completed_at)
        no_show = t.status == "no_show"
        if mins_one is None and not no_show:
            continue  # never served, never called: nothing to replay
        arrivals.append(Arrival(at, ward, ((t.service, (t.procedure,) if t.procedure else ()),),
                                (mins_one or 1.0,), no_show, t.priority))
    arrivals.sort(key=lambda a: a.at)
    out = Day(ward, day, w.hours.opens, w.hours.closes, arrivals, name=f"history {day}")
    out.shifts = [Shift(c.number, c.services, 0, out.open_seconds) for c in w.counters]
    return out


def with_counters(day: Day, service: str, counters: int, start: time, end: time) -> list[Shift]:
    """The day's shifts with `counters` counters of `service` alone during [start, end)."""
    t0 = (start.hour - day.opens.hour) * 3600 + (start.minute - day.opens.minute) * 60
    t1 = (end.hour - day.opens.hour) * 3600 + (end.minute - day.opens.minute) * 60
    out: list[Shift] = []
    for s in day.shifts:
        if service in s.services:  # the service's own counters give way in the window
            out += [x for x in (Shift(s.number, s.services, s.start, min(s.end, t0)),
                                Shift(s.number, s.services, max(s.start, t1), s.end))
                    if x.end > x.start]
        else:
            out.append(s)
    first = max((s.number for s in day.shifts), default=0) + 1
    out += [Shift(first + i, (service,), t0, t1) for i in range(counters)]
    # the extra counters' last shift ends at the window: they close then, done or not
    return out


@dataclass(frozen=True)
class WhatIf:
    service: str
    counters: int
    start: time
    end: time
    days: list[str]
    baseline_p90_min: float | None
    what_if_p90_min: float | None
    baseline_window_p90_min: float | None
    what_if_window_p90_min: float | None
    assumptions: str = ASSUMPTIONS


def _replay(day: Day, shifts: list[Shift], service: str, window: tuple[float, float],
            scratch_url: str) -> tuple[list[float], list[float]]:
    from kiosk.backoffice.simulation.cli import backoffice_for
    from kiosk.backoffice.simulation.driver import Driver, use_counters

    bo = backoffice_for(scratch_url)
    try:
        use_counters(bo, day.ward, shifts)
        d = Driver(bo, Day(day.ward, day.date, day.opens, day.closes, day.arrivals, shifts,
                           day.name)).run()
    finally:
        bo.engine.dispose()
    every, inside = [], []
    for v in d.visits:
        for (svc, _), w in zip(v.arrival.stages, v.waits, strict=False):
            if svc == service:
                every.append(w)
                if window[0] <= v.arrival.at < window[1]:
                    inside.append(w)
    return every, inside


def what_if(bo: Backoffice, ward: str, service: str, counters: int, start: time, end: time,
            weekday: int | None = None, months: set[int] | None = None,
            max_days: int | None = None) -> WhatIf:
    """`max_days`: the latest matching days only (each day is two replays)."""
    from kiosk.backoffice.simulation.cli import scratch_root

    days = history_days(bo, ward, weekday, months)
    if max_days is not None:
        days = days[-max_days:]
    base: tuple[list[float], list[float]] = ([], [])
    alt: tuple[list[float], list[float]] = ([], [])
    for i, d in enumerate(days):
        day = day_from_history(bo, ward, d)
        o = day.opens
        window = ((start.hour - o.hour) * 3600 + (start.minute - o.minute) * 60,
                  (end.hour - o.hour) * 3600 + (end.minute - o.minute) * 60)
        root = scratch_root()
        try:
            for runs, shifts, tag in ((base, day.shifts, "a"),
                                      (alt, with_counters(day, service, counters, start, end),
                                       "b")):
                every, inside = _replay(day, shifts, service, window,
                                        f"sqlite:///{root}/{i}{tag}.sqlite3")
                runs[0].extend(every)
                runs[1].extend(inside)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def p90(values: list[float]) -> float | None:
        return round(percentile(values, 0.9) / 60, 1) if values else None

    return WhatIf(service, counters, start, end, [d.isoformat() for d in days],
                  p90(base[0]), p90(alt[0]), p90(base[1]), p90(alt[1]))


def text(w: WhatIf) -> str:
    days = len(w.days)
    return (f"{w.service}: on {days} matching day(s), with {w.counters} counter(s) "
            f"{w.start:%H:%M}-{w.end:%H:%M} the p90 wait of those arriving then would be "
            f"{w.what_if_window_p90_min} min (as staffed: {w.baseline_window_p90_min} min); "
            f"over the whole day {w.what_if_p90_min} min ({w.baseline_p90_min} min).\n"
            f"Assumptions: {w.assumptions}.")


__all__ = ["WhatIf", "day_from_history", "history_days", "text", "what_if"]
