"""Routed visits in the central figures (issue #17): per-stage waits and time in office
(issue → last stage completed), per ward and service, on SQLite and PostgreSQL; and the
central page's table of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

from kiosk.backoffice.central import Period
from kiosk.backoffice.central_visits import visit_figures
from kiosk.backoffice.clock import office_day, utcnow
from kiosk.backoffice.engine import actions, audit, issuing, visits
from tests.backoffice.test_visits import clerk, routed, serve


def test_stage_waits_and_time_in_office(bo: Any) -> None:
    start = utcnow()
    now = [start]

    def clock() -> Any:
        return now[0]

    with mock.patch.object(actions, "utcnow", clock), mock.patch.object(
            issuing, "utcnow", clock), mock.patch.object(audit, "utcnow", clock), \
            mock.patch.object(visits, "utcnow", clock):
        t = routed(bo)
        for minutes_waited, counter in ((4, 3), (6, 5), (2, 2)):
            now[0] += timedelta(minutes=minutes_waited)  # waits in the stage's queue
            actions.act(bo, clerk(), t["id"], "call", counter=counter)
            actions.act(bo, clerk(), t["id"], "start")
            now[0] += timedelta(minutes=10)  # served
            t = actions.act(bo, clerk(), t["id"], "complete")
        routed(bo)  # a second visit, still waiting: counted, not completed
    day = office_day(start, bo.tz)
    figures = visit_figures(bo.engine, Period(day, day), ["kita", "naka"])
    kita = figures["kita"]
    assert (kita["visits"], kita["completed"]) == (2, 1)
    assert kita["mean_time_in_office_seconds"] == (4 + 6 + 2 + 30) * 60
    by_service = {s["service"]: s for s in kita["services"]}
    assert by_service["moving"]["mean_stage_wait_seconds"] == 4 * 60
    assert by_service["insurance"]["mean_stage_wait_seconds"] == 6 * 60
    assert by_service["certificates"]["mean_stage_service_seconds"] == 10 * 60
    assert by_service["moving"]["visits"] == 2
    assert figures["naka"]["visits"] == 0


def test_the_central_page_shows_the_routed_visits(bo: Any) -> None:
    from kiosk.backoffice.central import period_figures
    from kiosk.backoffice.web.central_view import period_tables_html

    t = routed(bo)
    for counter in (3, 5, 2):
        t = serve(bo, t, counter)
    day = office_day(utcnow(), bo.tz)
    figures = period_figures(bo.engine, bo.catalog, Period(day, day))
    for w in figures["wards"]:
        w["visits"] = visit_figures(bo.engine, Period(day, day), [w["ward"]])[w["ward"]]
    html = period_tables_html(figures, bo.catalog, "ja")
    assert "複数手続きの来庁" in html and "平均庁内滞在時間" in html
    assert "central-visits" in html

