"""The estimate accuracy over HTTP (issue #22): the estimates a kiosk and a phone were
answered, their actual waits once called, and the figures a supervisor and 本庁 read."""

from __future__ import annotations

from typing import Any

import requests

from tests.backoffice.conftest import issue, ok, serve_next


def test_the_supervisor_and_central_read_the_error_of_what_residents_were_shown(
        backoffice: Any) -> None:
    server = backoffice
    first = ok(issue(server, service="insurance"), 201)
    second = ok(issue(server, service="insurance"), 201)
    assert second["estimated_wait_seconds"] >= first["estimated_wait_seconds"]
    # the phone page's read needs no account; an unchanged estimate adds no row
    status = ok(requests.get(server.api(f"/status/{second['status_token']}"), timeout=10))
    assert status["estimated_wait_seconds"] == second["estimated_wait_seconds"]
    serve_next(server, 4, 2)
    ward = ok(server.session("supervisor").get(server.api("/wards/kita/estimate-accuracy")))
    cells = [r for r in ward["rows"] if r["service"] == "insurance"]
    assert ward["ward"] == "kita" and sum(c["n"] for c in cells) == 2  # unchanged status: no row
    assert all(c["mae_min"] is not None and 0 <= c["within_5min"] <= 1 for c in cells)
    everything = ok(server.session("admin").get(server.api("/central/estimate-accuracy")))
    assert everything["ward"] is None and everything["total"]["n"] >= 2
    csv = server.session("admin").get(server.api("/central/estimate-accuracy.csv"))
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "ward,service,hour,n,mae_min,bias_min,within_5min,in_range"
    assert any(line.startswith("kita,insurance,") for line in lines[1:])
    bad = server.session("supervisor").get(server.api(
        "/wards/kita/estimate-accuracy?from=2026-13-01"))
    assert bad.status_code == 422


def test_a_staffing_what_if_over_http(backoffice: Any) -> None:
    server = backoffice
    for _ in range(3):
        ok(issue(server, service="certificates"), 201)
    serve_next(server, 2, 3)
    query = "service=certificates&counters=3&start=09:00&end=11:00"
    found = ok(server.session("supervisor").get(server.api(f"/wards/kita/what-if?{query}")))
    assert len(found["days"]) == 1 and found["counters"] == 3
    assert found["baseline_p90_min"] is not None and "nobody stays away" in found["assumptions"]
    central = ok(server.session("admin").get(server.api(f"/wards/kita/what-if?{query}")))
    assert central["days"] == found["days"]
    for bad in ("service=nothing&counters=3&start=09:00&end=11:00",
                "service=certificates&counters=3&start=11:00&end=09:00",
                "service=certificates&counters=0&start=09:00&end=11:00",
                "service=certificates&counters=3&start=9&end=11:00",
                "service=certificates&counters=3&start=09:00&end=11:00&months=13"):
        r = server.session("supervisor").get(server.api(f"/wards/kita/what-if?{bad}"))
        assert r.status_code == 422, (bad, r.status_code, r.text)
