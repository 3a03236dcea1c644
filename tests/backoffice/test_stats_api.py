"""The fuller statistics over HTTP (issue #22): a ward's supervisor and 本庁 read the same
tables, each as CSV; the per-staff figures keep to their rule; bad input is a clear 422."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.backoffice.conftest import issue, ok, serve_next


def test_statistics_for_the_ward_and_for_central(backoffice: Any) -> None:
    server = backoffice
    for _ in range(2):
        ok(issue(server, service="family"), 201)
    serve_next(server, 3, 2, seconds=1.0)  # a measurable service time
    ward = ok(server.session("supervisor").get(server.api("/wards/kita/statistics")))
    assert ward["wards"] == ["kita"] and ward["summary"][0]["called"] >= 2
    assert sum(h["issued"] for h in ward["hours"]) == ward["summary"][0]["issued"]
    family = [r for r in ward["service_times"] if r["service"] == "family"]
    assert family and family[0]["n"] >= 2
    three = next(c for c in ward["counters"] if c["counter"] == 3)
    assert three["completed"] >= 2 and three["open_seconds"] >= three["busy_seconds"] >= 2
    assert 0 < three["busy_share"] <= 1 and three["mean_service_seconds"] >= 1
    everything = ok(server.session("admin").get(server.api("/central/statistics")))
    assert everything["wards"] == ["kita", "naka"]
    assert everything["summary"][0] == ward["summary"][0]  # the same definitions
    # one CSV per table, UTF-8 with a BOM for Excel, the figures' keys as its header
    for table in ("hours", "counters", "service_times", "weeks", "months", "life_events",
                  "appointments", "summary"):
        r = server.session("supervisor").get(server.api(f"/wards/kita/statistics/{table}.csv"))
        assert r.status_code == 200 and r.content.startswith("\ufeff".encode()), table
        assert r.content.decode("utf-8-sig").splitlines()[0].startswith("from,to,ward,")
    lines = server.session("admin").get(server.api("/central/statistics/counters.csv")
                                        ).content.decode("utf-8-sig").splitlines()
    assert lines[0] == ("from,to,ward,counter,completed,no_shows,mean_service_seconds,"
                        "open_seconds,busy_seconds,busy_share")
    assert any(",kita,3," in line for line in lines) and any(",naka," in line for line in lines)
    # per staff: a week at least; members with few completions pooled, none by name
    week = f"from={date.today() - timedelta(days=6)}&to={date.today()}"
    sv = server.session("supervisor")
    short = sv.get(server.api("/wards/kita/staff-statistics"))
    assert short.status_code == 422 and short.json()["error"] == "period_too_short"
    staff_figures = ok(sv.get(server.api(f"/wards/kita/staff-statistics?{week}")))
    assert staff_figures["min_days"] == 7 and staff_figures["staff"] == []
    assert staff_figures["others"]["completed"] >= 2 and staff_figures["others"]["people"] >= 1
    text = sv.get(server.api(f"/wards/kita/staff-statistics.csv?{week}")).content.decode(
        "utf-8-sig")
    assert text.splitlines()[0] == ("username,people,completed,days,mean_service_seconds,"
                                    "p50_service_seconds")
    # bad input: a clear 422, never a 500
    for path in ("/wards/kita/statistics/nothing.csv", "/wards/kita/statistics?from=2026-13-01",
                 "/wards/kita/statistics?from=2026-05-02&to=2026-05-01",
                 "/wards/kita/statistics?from=2024-01-01&to=2026-01-01"):
        assert sv.get(server.api(path)).status_code == 422, path
    assert sv.get(server.api("/wards/nowhere/statistics")).status_code == 404
