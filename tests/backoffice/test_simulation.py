"""The ward-day simulator (issue #22): a day replayed through the real engine on a simulated
clock, on SQLite and PostgreSQL; the trace CSV; the command line; the clerk estimate."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import local
from kiosk.backoffice.db import reading
from kiosk.backoffice.estimate_clerk import Desk, Waiting, estimate, play
from kiosk.backoffice.simulation import report, scenario
from kiosk.backoffice.simulation.compare import Comparison
from kiosk.backoffice.simulation.day import TraceError, read_trace, write_trace
from kiosk.backoffice.simulation.driver import Driver, use_counters
from kiosk.configfile import load_catalog

REPO = Path(__file__).resolve().parents[2]


def test_a_generated_day_survives_the_trace_csv(tmp_path: Path) -> None:
    catalog = load_catalog()
    day = scenario.generate(catalog, "kita", "march", visitors=80, seed=3)
    assert len(day.arrivals) == 80
    assert any(a.life_event for a in day.arrivals) and any(a.routed for a in day.arrivals)
    path = tmp_path / "day.csv"
    write_trace(path, day.arrivals, day.opens)
    back = read_trace(path, catalog, day.opens)
    assert [(a.stages, a.life_event, a.no_show, a.priority == "appointment")
            for a in back] == [(a.stages, a.life_event, a.no_show, a.priority == "appointment")
                               for a in day.arrivals]
    assert all(abs(x.at - y.at) <= 1 and abs(sum(x.minutes) - sum(y.minutes)) < 0.05
               for x, y in zip(back, day.arrivals, strict=True))


@pytest.mark.parametrize(("row", "where"), [
    ("9:61,kita,certificates,juminhyo,4,0,0", "line 2, column time"),
    ("09:01,kita,certificates,tennyu,4,0,0", "line 2, column procedure"),
    ("09:01,kita,life:tennyu,tennyu+juminhyo,14,0,0", "line 2, column service_minutes"),
    ("09:01,nowhere,certificates,juminhyo,4,0,0", "line 2, column ward"),
    ("09:01,kita,certificates,juminhyo,4,2,0", "line 2, column no_show"),
])
def test_a_bad_trace_row_is_named(tmp_path: Path, row: str, where: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time,ward,service,procedure,service_minutes,no_show,appointment\n"
                    + row + "\n", encoding="utf-8")
    with pytest.raises(TraceError, match=where):
        read_trace(path, load_catalog(), load_catalog().wards["kita"].hours.opens)


def test_a_day_through_the_real_engine(bo: Any) -> None:
    day = scenario.generate(bo.catalog, "kita", "lunch", visitors=90, seed=5, counters=7)
    use_counters(bo, day.ward, day.shifts)
    comparison = Comparison()
    d = Driver(bo, day, observers=[comparison]).run()
    r = report.day_report(d)
    assert r["unfinished"] == 0 and r["visitors"] == 90
    assert r["waits"]["n"] == sum(len(a.stages) for a in day.arrivals
                                  if not a.no_show) + sum(a.no_show for a in day.arrivals)
    assert 0 < r["utilisation"] <= 1 and 0 <= r["within_target"] <= 1
    assert r["time_in_office"]["life_event"]["n"] > 0
    # every ticket's estimate at issue was stored, and got its actual wait at the call
    e = m.ticket_estimates
    with reading(bo.engine) as conn:
        issued = conn.execute(select(func.count()).select_from(e).where(
            e.c.source == "issue")).scalar_one()
        missing = conn.execute(select(func.count()).select_from(e).where(
            e.c.actual_seconds.is_(None))).scalar_one()
        lunch = {s.number for s in day.shifts if s.end < day.open_seconds}
        ev = m.ticket_events
        calls = conn.execute(select(ev.c.at).where(ev.c.type == "ticket.called",
                                                   ev.c.counter.in_(lunch))).scalars().all()
    assert issued == 90 and missing == 0
    assert r["estimate_served"]["n"] == 90
    # the counters closed for lunch called nobody from 12:00 to 13:00
    hours = {local(at, bo.tz).hour for at in calls}  # type: ignore[union-attr]
    assert lunch and calls and 12 not in hours
    summary = comparison.summary()
    assert {k: summary[k]["n"] for k in summary} == {"static": 90, "learned": 90, "clerk": 90}
    assert summary["clerk"]["in_range"] is not None


def test_the_clerk_estimate_can_be_the_served_one(bo: Any) -> None:
    bo.settings = replace(bo.settings, queue=replace(bo.settings.queue, estimator="clerk"))
    day = scenario.generate(bo.catalog, "kita", "normal", visitors=40, seed=9)
    use_counters(bo, day.ward, day.shifts)
    Driver(bo, day).run()
    e = m.ticket_estimates
    with reading(bo.engine) as conn:
        rows = conn.execute(select(e.c.method, e.c.low_seconds, e.c.high_seconds,
                                   e.c.estimate_seconds)).all()
    assert {r.method for r in rows} == {"clerk"}
    assert all(r.low_seconds <= r.estimate_seconds <= r.high_seconds for r in rows)
    assert all(r.low_seconds % 300 == 0 and r.high_seconds % 300 == 0 for r in rows)


def test_play_serves_the_queue_in_order_around_a_lunch_closing() -> None:
    desks = [Desk(1, ("a",), 0.0, ((600.0, 1200.0),)), Desk(2, ("a", "b"), 300.0)]
    queue = [Waiting("b", 300.0), Waiting("a", 300.0), Waiting("a", 300.0),
             Waiting("a", 300.0), Waiting("a", 300.0, available_in=50.0, joiner=True)]
    calls, _spread = play("a", desks, queue, 300.0, extra=1)
    # in queue order: desk 1 takes a1 at 0 and a2 at 300, then closes until 1200; desk 2
    # serves "b" from 300, a3 at 600, the joiner (come at 50) at 900; the new one at 1200
    assert calls == [0.0, 300.0, 600.0, 900.0, 1200.0]
    est = estimate("a", desks, queue, 300.0, priority_per_hour=0.0)
    # a new ticket with three people ahead stands behind the joiner too
    assert [est.wait_seconds(k) for k in range(4)] == [0, 300, 600, 1200]
    low, high = est.wait_range(3)
    assert low <= 1200 <= high and low % 300 == 0 and high % 300 == 0
    # priority visitors expected while waiting lengthen the wait
    assert estimate("a", desks, queue, 300.0, priority_per_hour=4.0).wait_seconds(3) > 1200


def test_the_command_line_simulates_a_day() -> None:
    out = subprocess.run([sys.executable, "-m", "kiosk.backoffice", "simulate", "--scenario",
                          "monday", "--visitors", "60", "--json"], cwd=REPO, check=True,
                         capture_output=True, text=True, timeout=300)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["visitors"] == 60 and figures["unfinished"] == 0
    assert figures["waits"]["p90_min"] >= figures["waits"]["p50_min"]
    assert timedelta(minutes=figures["last_done_min"]) > timedelta(hours=1)


def test_a_staffing_what_if_replays_the_ward_s_own_history(bo: Any) -> None:
    from datetime import date, time

    from kiosk.backoffice.simulation.history import day_from_history, text, what_if

    day = scenario.generate(bo.catalog, "kita", "monday", visitors=70, seed=11, counters=4)
    day.date = date(2026, 3, 2)  # a Monday in March
    use_counters(bo, day.ward, day.shifts)
    Driver(bo, day).run()
    bo.catalog = load_catalog()  # the ward as configured again
    back = day_from_history(bo, "kita", day.date)
    assert len(back.arrivals) == 70
    assert sorted(a.no_show for a in back.arrivals) == sorted(a.no_show for a in day.arrivals)
    assert sorted(a.stages for a in back.arrivals) == sorted(a.stages for a in day.arrivals)
    few = what_if(bo, "kita", "certificates", 1, time(9), time(11), weekday=0, months={3})
    many = what_if(bo, "kita", "certificates", 5, time(9), time(11), weekday=0, months={3})
    assert few.days == many.days == ["2026-03-02"]
    assert few.baseline_p90_min == many.baseline_p90_min
    assert many.what_if_window_p90_min is not None and few.what_if_window_p90_min is not None
    assert many.what_if_window_p90_min <= few.what_if_window_p90_min
    assert "nobody stays away" in text(many)
    assert what_if(bo, "kita", "certificates", 2, time(9), time(11), weekday=1).days == []
