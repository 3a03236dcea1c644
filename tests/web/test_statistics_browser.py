"""The fuller statistics' pages (issue #22) in headless Chromium against a real back-office:
the supervisor's /supervisor/statistics (its ward) and the central page's section (every
ward side by side), in English. Each chart is an inline SVG that renders (drawn, with its
title and description) and has its table beside it; no Japanese is left on the page."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.backoffice.conftest import serve_next
from tests.web.conftest import Shots, issue
from tests.web.test_pages_browser import login
from tests.web.test_staff_pages_browser import add_central_account, japanese_left

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WIDE = {"width": 1400, "height": 1000}

# per chart: drawn size, its <title>/<desc>, its marks, and the table beside it
CHARTS_JS = """() => [...document.querySelectorAll('svg.stats-chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const pair = svg.closest('.chart-pair');
  return {id: svg.id, width: box.width, height: box.height,
          title: svg.querySelector('title').textContent,
          desc: svg.querySelector('desc').textContent,
          labelled: svg.getAttribute('aria-labelledby'), role: svg.getAttribute('role'),
          marks: svg.querySelectorAll('rect.p50:not(.swatch), rect.bar, circle.circle').length,
          rows: pair ? pair.querySelectorAll('table.data tbody tr').length : 0};
})"""


def open_in_english(browser: Any, server: Any, who: str, path: str,
                    query: str = "") -> tuple[Any, Any]:
    ctx = browser.new_context(viewport=WIDE)
    page = ctx.new_page()
    page.goto(f"{server.url}/web/language?lang=en&next=/console")
    login(page, server, who, f"?next={path}")
    page.wait_for_url(lambda url: urlsplit(url).path == path)
    if query:
        page.goto(f"{server.url}{path}?{query}")
    page.wait_for_selector("svg.stats-chart")
    return ctx, page


def column(page: Any, table: str, index: int) -> list[str]:
    """The texts of one column of a table's body."""
    return list(page.eval_on_selector_all(
        f"{table} tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent)"))


def finish(ctx: Any, page: Any, shots: Shots, anchor: str, name: str) -> None:
    """No Japanese left; the screenshot from `anchor` (also for docs/screens); closed."""
    assert not japanese_left(page), japanese_left(page)
    page.locator(anchor).scroll_into_view_if_needed()
    shots.take(page, name, docs=True)
    ctx.close()


def drawn(page: Any, selector: str) -> int:
    """How many colours the rendered chart has (a blank or broken SVG has one or two)."""
    png = page.locator(selector).screenshot()
    with Image.open(io.BytesIO(png)) as im:
        return len(im.convert("RGB").getcolors(1 << 16) or [])


def test_the_supervisor_and_central_read_the_statistics_with_charts(
        backoffice: Any, browser: Any, shots: Shots) -> None:
    server = backoffice
    for service in ("certificates", "certificates", "family"):
        issue(server, service)
    serve_next(server, 2, 2, seconds=0.5)
    serve_next(server, 3, 1, seconds=0.5)

    ctx, page = open_in_english(browser, server, "supervisor", "/supervisor/statistics")
    assert page.text_content("#title") == "Statistics (detailed)"
    charts = page.evaluate(CHARTS_JS)
    assert [c["id"] for c in charts] == ["chart-hours-kita", "chart-weeks-kita",
                                        "chart-counters-kita"]
    for c in charts:
        assert c["width"] > 300 and c["height"] > 150, c
        assert c["role"] == "img" and c["labelled"] == f"{c['id']}-t {c['id']}-d"
        assert c["title"] and "table beside it" in c["desc"], c
        assert c["marks"] >= 1 and c["rows"] >= 1, c   # drawn, and its table beside it
    assert charts[0]["title"] == "Kita Ward Office: waits by hour of day"
    assert drawn(page, "#chart-hours-kita") > 4 and drawn(page, "#chart-counters-kita") > 4
    busy = page.text_content(".stats-counters tbody tr:nth-child(2) td:last-child") or ""
    assert busy.endswith("%"), busy
    assert page.locator(".stats-service tbody tr").count() >= 2
    # per staff (the page opens on four weeks): 3 completions < 30, so pooled, no name
    assert column(page, ".stats-staff", 0) == ["Others (1 people)", "Whole ward (1 people)"]
    href = page.get_attribute(".stats-ward a.csv >> nth=1", "href") or ""
    assert href.startswith("/api/v1/wards/kita/statistics/hours.csv?from=")
    assert not japanese_left(page), japanese_left(page)
    shots.take(page, "supervisor-statistics-today")
    # today alone is shorter than a week: said, and no per-staff table
    today = page.input_value("#period-to")
    page.fill("#period-from", today)
    with page.expect_navigation():
        page.click("#period-submit")
    assert "shorter than 7 days" in (page.text_content("#main") or "")
    assert page.locator(".stats-staff").count() == 0
    assert not japanese_left(page), japanese_left(page)
    ctx.close()

    add_central_account(server)
    ctx, page = open_in_english(browser, server, "central", "/central")
    wards = page.eval_on_selector_all(".stats-ward", "els => els.map(e => e.dataset.ward)")
    assert wards == ["kita", "naka"]                     # side by side, the same charts
    charts = page.evaluate(CHARTS_JS)
    assert len(charts) == 6 and all(c["width"] > 300 and c["rows"] >= 0 for c in charts)
    assert column(page, ".stats-summary", 1) == ["3", "0"]  # issued: kita, naka
    links = page.eval_on_selector_all("a.csv", "links => links.map(a => a.getAttribute('href'))")
    assert links[0].startswith("/api/v1/central/statistics/summary.csv?from=")  # every ward
    assert any(x.startswith("/api/v1/wards/naka/statistics/counters.csv?") for x in links)
    hours = page.locator(".stats-ward[data-ward='kita'] .stats-hours tbody tr").count()
    assert hours >= 1
    assert not japanese_left(page), japanese_left(page)
    ctx.close()


def simulate_days(server: Any, days: list[tuple[str, str, date, int]]) -> None:
    """Whole ward days played through the real engine into the server's own database
    (the simulator's driver on a simulated clock: kiosk/backoffice/simulation)."""
    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.context import Backoffice
    from kiosk.backoffice.simulation import scenario
    from kiosk.backoffice.simulation.driver import Driver, use_counters
    from kiosk.configfile import load_catalog

    settings = load_settings()
    settings = replace(settings, queue=replace(settings.queue, enforce_opening_hours=False))
    bo = Backoffice(server.db_url, settings, load_catalog())
    try:
        for ward, name, day_date, seed in days:
            day = scenario.generate(bo.catalog, ward, name, visitors=150, seed=seed, counters=4)
            day.date = day_date
            use_counters(bo, ward, day.shifts)
            Driver(bo, day).run()
    finally:
        bo.engine.dispose()


def test_simulated_weeks_draw_full_charts_side_by_side(backoffice: Any, browser: Any,
                                                       shots: Shots) -> None:
    server = backoffice
    simulate_days(server, [("kita", "monday", date(2026, 11, 2), 1),
                           ("kita", "normal", date(2026, 11, 11), 2),
                           ("kita", "lunch", date(2026, 11, 19), 3),
                           ("naka", "normal", date(2026, 11, 4), 4),
                           ("naka", "monday", date(2026, 11, 16), 5)])
    add_central_account(server)
    ctx, page = open_in_english(browser, server, "central", "/central",
                                "from=2026-11-01&to=2026-11-30")
    charts = {c["id"]: c for c in page.evaluate(CHARTS_JS)}
    for ward, weeks in (("kita", 3), ("naka", 2)):
        hours, trend, counters = (charts[f"chart-{k}-{ward}"]
                                  for k in ("hours", "weeks", "counters"))
        assert hours["marks"] >= 8 and hours["rows"] == hours["marks"]  # a bar an hour
        assert trend["marks"] == trend["rows"] == weeks                 # a point a week
        assert counters["marks"] >= 4                     # a bar a counter that was open
        assert drawn(page, f"#chart-hours-{ward}") > 4
    assert column(page, ".stats-summary", 1) == ["450", "300"]  # issued: kita, naka
    finish(ctx, page, shots, "#stats-h", "central-statistics")

    # the ward's supervisor: its ward, and per staff over the month (the simulator's clerk
    # completed far more than 30 tickets, so it is shown by name; the test's own are not)
    ctx, page = open_in_english(browser, server, "supervisor", "/supervisor/statistics",
                                "ward=kita&from=2026-11-01&to=2026-11-30")
    assert [c["id"] for c in page.evaluate(CHARTS_JS)] == [
        "chart-hours-kita", "chart-weeks-kita", "chart-counters-kita"]
    assert column(page, ".stats-staff", 0) == ["sim-clerk", "Whole ward (1 people)"]
    finish(ctx, page, shots, ".stats-ward h3", "supervisor-statistics")
