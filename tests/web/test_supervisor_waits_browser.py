"""The supervisor page's estimate accuracy and staffing what-if, and the central page's
accuracy ward by ward and the same what-if for a ward it chooses (issue #22), in headless
Chromium against a real back-office process, in English (no Japanese left)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.web.conftest import issue
from tests.web.test_pages_browser import CONSOLE, login
from tests.web.test_staff_pages_browser import add_central_account, japanese_left

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_in_english(browser: Any, server: Any, who: str, path: str) -> tuple[Any, Any]:
    """`who` signed in, on `path` in English, once its accuracy panel has rows."""
    ctx = browser.new_context(viewport=CONSOLE)
    page = ctx.new_page()
    page.goto(f"{server.url}/web/language?lang=en&next=/console")
    login(page, server, who, f"?next={path}")
    page.wait_for_url(lambda url: urlsplit(url).path == path)
    page.wait_for_selector("body[data-accuracy]:not([data-accuracy='0'])")
    return ctx, page


def what_if(page: Any, counters: int) -> None:
    """Ask the staffing what-if for certificates 09:00-11:00 with `counters` counters."""
    page.wait_for_selector("#wif-service option[value='certificates']", state="attached")
    page.select_option("#wif-service", "certificates")
    page.fill("#wif-counters", str(counters))
    page.click("#wif-run")
    page.wait_for_selector("body[data-what-if]", timeout=60_000)
    result = page.text_content("#wif-result") or ""
    assert result.startswith(
        f"From 1 day(s) of records: with {counters} counter(s) 09:00–11:00"), result


def test_the_supervisor_reads_the_estimates_accuracy_and_asks_a_what_if(
        backoffice: Any, browser: Any) -> None:
    server = backoffice
    staff = server.session("staff")
    for _ in range(3):
        issue(server)
    for _ in range(3):
        t = staff.post(server.api("/wards/kita/counters/2/call-next"), json={}, timeout=10).json()
        for action in ("start", "complete"):
            assert staff.post(server.api(f"/tickets/{t['id']}/{action}"), json={},
                              timeout=10).status_code == 200
    ctx, page = open_in_english(browser, server, "supervisor", "/supervisor")
    assert page.text_content("#acc-h") == "Accuracy of the wait estimates (today)"
    counts = page.eval_on_selector_all(
        "#accuracy-table tbody tr[data-service='certificates'] .acc-n",
        "cells => cells.reduce((n, c) => n + Number(c.textContent), 0)")
    assert counts == 3
    what_if(page, 3)
    assert not japanese_left(page), japanese_left(page)
    ctx.close()

    # 本庁: every ward side by side, with the same definitions, and its CSV
    add_central_account(server)
    ctx, page = open_in_english(browser, server, "central", "/central")
    assert page.text_content("#accuracy-table tr[data-ward='kita'] .acc-n") == "3"
    href = page.get_attribute("#accuracy-csv", "href") or ""
    assert href.startswith("/api/v1/central/estimate-accuracy.csv?from=")
    # … and the same what-if for any ward it chooses
    page.select_option("#wif-ward", "kita")
    what_if(page, 2)
    assert not japanese_left(page), japanese_left(page)
    ctx.close()
