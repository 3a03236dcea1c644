"""The fuller statistics (kiosk.backoffice.stats, issue #22) of a simulated ward day played
through the real engine, on SQLite and PostgreSQL: the tables agree with what the simulator
itself measured, and the per-staff figures keep to their rule."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from kiosk.backoffice import models as m
from kiosk.backoffice import stats
from kiosk.backoffice.central import Period
from kiosk.backoffice.db import writing
from kiosk.backoffice.simulation import report, scenario
from kiosk.backoffice.simulation.driver import Driver, use_counters


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 11)]
    assert stats.percentile(values, 0.5) == 5 and stats.percentile(values, 0.9) == 9
    assert stats.percentile([7.0], 0.9) == 7 and stats.percentile([], 0.5) is None
    assert stats.iso_week(date(2026, 12, 31)) == "2026-W53"
    assert stats.iso_week(date(2027, 1, 4)) == "2027-W01"


def simulated_day(bo: Any) -> tuple[Any, dict[str, Any]]:
    day = scenario.generate(bo.catalog, "kita", "march", visitors=80, seed=4, counters=5)
    use_counters(bo, day.ward, day.shifts)
    d = Driver(bo, day).run()
    return d, report.day_report(d)


def test_a_simulated_day_s_statistics(bo: Any) -> None:
    d, r = simulated_day(bo)
    period = Period(d.day.date, d.day.date)
    end_of_day = d.opening + timedelta(hours=14)
    s = stats.statistics(bo.engine, bo.catalog, period, ["kita", "naka"], bo.tz, end_of_day)
    kita = s["summary"][0]
    assert (kita["ward"], s["summary"][1]["issued"]) == ("kita", 0)
    assert kita["issued"] == 80 and kita["called"] == 80  # nobody cancelled, no-shows called
    assert kita["p50_wait_seconds"] <= kita["p90_wait_seconds"]
    assert 0 <= kita["within_target_share"] <= 1
    # hours, weeks and months are the same tickets, bucketed
    assert sum(h["issued"] for h in s["hours"]) == 80
    assert {h["hour"] for h in s["hours"]} <= set(range(8, 18))
    assert [(w["week"], w["issued"]) for w in s["weeks"]] == [(stats.iso_week(d.day.date), 80)]
    assert [(w["month"], w["p90_wait_seconds"]) for w in s["months"]] == [
        (f"{d.day.date:%Y-%m}", kita["p90_wait_seconds"])]
    # every completed service (a routed visit's stages each) has its time
    stages = sum(len(v.arrival.stages) for v in d.visits if not v.arrival.no_show)
    whole = [x for x in s["service_times"] if x["procedure"] is None]
    assert sum(x["n"] for x in whole) == stages
    assert all(x["p50_seconds"] <= x["p90_seconds"] for x in s["service_times"])
    # the counters' busy share is the simulator's own utilisation (call → completion or
    # no-show, over the time the counters were open) — read back from the audit trail
    mine = {c["counter"]: c["busy_share"] for c in s["counters"] if c["busy_share"]}
    assert mine.keys() == r["utilisation_by_counter"].keys()
    for number, share in mine.items():
        assert share == pytest.approx(r["utilisation_by_counter"][number], abs=0.02), number
    assert sum(c["completed"] for c in s["counters"]) == stages
    assert sum(c["no_shows"] for c in s["counters"]) == sum(
        a.no_show for a in d.day.arrivals)
    # life-event visits (routed tickets): issue → the last stage done (no-shows left out)
    routed = report.minutes([v.done - v.issued for v in d.visits
                             if v.arrival.routed and not v.arrival.no_show])
    every = s["life_events"][0]
    assert every["life_event"] is None and every["completed"] == routed["n"] > 0
    assert every["p50_time_in_office_seconds"] / 60 == pytest.approx(routed["p50_min"], abs=0.1)
    assert every["p90_time_in_office_seconds"] / 60 == pytest.approx(routed["p90_min"], abs=0.1)
    # per staff: never over less than a week
    with pytest.raises(stats.TooShort):
        stats.staff_figures(bo.engine, period, "kita", bo.tz)
    week = Period(d.day.date - timedelta(days=6), d.day.date)
    staff = stats.staff_figures(bo.engine, week, "kita", bo.tz)
    assert [x["username"] for x in staff["staff"]] == ["sim-clerk"]
    assert staff["staff"][0]["completed"] == stages and staff["others"]["people"] == 0
    few = stats.staff_figures(bo.engine, week, "kita", bo.tz, min_tickets=stages + 1)
    assert few["staff"] == [] and few["others"] == {**few["ward_total"], "people": 1}


def test_appointment_punctuality(bo: Any) -> None:
    day = date(2026, 11, 20)
    slot = datetime(2026, 11, 20, 1, 0)  # 10:00 in Japan
    now = datetime(2026, 11, 20, 6, 0)
    with writing(bo.engine) as conn:
        def ticket(called_after: int | None) -> int:
            tid = conn.execute(insert(m.tickets).values(
                ward="kita", origin_service="certificates", service="certificates", day=day,
                number=uuid.uuid4().int % 10_000, label="A-1", priority="appointment", rank=0,
                language="ja", status="done", queue_at=slot, issued_at=slot,
                idempotency_key=uuid.uuid4().hex, request_hash="x",
                status_token=uuid.uuid4().hex).returning(m.tickets.c.id)).scalar_one()
            if called_after is not None:
                conn.execute(insert(m.ticket_events).values(
                    ticket_id=tid, ward="kita", service="certificates", type="ticket.called",
                    at=slot + timedelta(seconds=called_after), counter=1, data="{}"))
            return int(tid)

        for status, arrived, called in (("checked_in", -300, 120), ("checked_in", -60, 600),
                                        ("late", 900, 1500), ("booked", None, None),
                                        ("cancelled", None, None)):
            conn.execute(insert(m.appointments).values(
                code=uuid.uuid4().hex[:12], ward="kita", service="certificates", language="ja",
                day=day, slot_at=slot, status=status, created_at=slot - timedelta(days=2),
                checked_in_at=slot + timedelta(seconds=arrived) if arrived is not None
                else None, ticket_id=ticket(called) if called is not None else None))
    s = stats.statistics(bo.engine, bo.catalog, Period(day, day), ["kita"], bo.tz, now)
    assert s["appointments"] == [{
        "ward": "kita", "service": "certificates", "booked": 4, "checked_in": 2, "late": 1,
        "no_shows": 1, "no_show_share": 0.25, "p50_arrival_vs_slot_seconds": -60,
        "called": 3, "p50_call_vs_slot_seconds": 600, "p90_call_vs_slot_seconds": 1500,
        "called_on_time_share": 0.3333}]


def test_the_charts_are_well_formed_svg_even_without_data() -> None:
    from xml.etree import ElementTree

    from kiosk.backoffice.web import stats_view
    from kiosk.backoffice.web.phone import t

    tr = t("en")
    ns = "{http://www.w3.org/2000/svg}"
    hour = {"ward": "kita", "hour": 9, "issued": 4, "called": 3, "p50_wait_seconds": 120,
            "p90_wait_seconds": 600, "mean_wait_seconds": 200, "within_target_share": 1.0}
    for svg in (stats_view.hours_chart("kita", [], "<Kita>", tr),
                stats_view.weeks_chart("kita", [], "<Kita>", tr),
                stats_view.counters_chart("kita", [], "<Kita>", tr),
                stats_view.hours_chart("kita", [hour], "<Kita>", tr)):
        root = ElementTree.fromstring(svg)  # well-formed: names are escaped
        assert root.get("role") == "img"
        title, desc = root.find(f"{ns}title"), root.find(f"{ns}desc")
        assert title is not None and title.text and title.text.startswith("<Kita>: ")
        assert desc is not None and desc.text and desc.text.endswith("table beside it.")
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    empty = stats_view.counters_chart("kita", [], "Kita", tr)
    assert "No data" in empty
    drawn = ElementTree.fromstring(stats_view.hours_chart("kita", [hour], "Kita", tr))
    bars = [r for r in drawn.iter(f"{ns}rect") if "swatch" not in (r.get("class") or "")]
    assert [b.get("class") for b in bars if b.get("class") in ("p50", "p90")] == ["p90", "p50"]
    assert all(b.get("fill") == "url(#chart-hours-kita-hatch)" for b in bars
               if b.get("class") == "p90")
