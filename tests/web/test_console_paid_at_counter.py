"""The counter console's "paid at the counter" button, in headless Chromium against a real
back-office process: the clerk marks the current ticket's fee paid, the record says who."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import issue
from tests.web.test_pages_browser import (
    CONSOLE,
    application_for,
    choose_counter,
    login,
    wait_current,
    wait_js,
    watch_errors,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FEE_TEXT = "document.getElementById('fee-text').textContent"


def test_console_button_marks_the_ticket_paid(backoffice: Any, browser: Any) -> None:
    server = backoffice
    ticket = issue(server, procedure="juminhyo", application=application_for("juminhyo"))
    assert ticket["fee_yen"] == 600
    errors: list[str] = []
    ctx = browser.new_context(viewport=CONSOLE, locale="ja-JP")
    try:
        page = watch_errors(ctx.new_page(), errors)
        login(page, server, "staff")
        choose_counter(page, 1)
        page.locator("body").press("n")
        wait_current(page, ticket["number"])
        page.wait_for_selector("#fee-line:not([hidden]) #paid-at-counter:not([disabled])")
        wait_js(page, f"{FEE_TEXT}.includes('600円') && {FEE_TEXT}.includes('未払い')")
        page.click("#paid-at-counter")
        wait_js(page, f"{FEE_TEXT}.includes('支払い済み')")
        assert page.is_disabled("#paid-at-counter")
        assert ticket["number"] in (page.text_content("#toast") or "")
    finally:
        ctx.close()
    assert not errors, errors
    staff = server.session("staff")
    record = staff.get(server.api(f"/tickets/{ticket['id']}/payments")).json()
    assert record["paid"] and record["payments"][-1]["method"] == "counter"
    pid = record["payments"][-1]["id"]
    trail = staff.get(server.api(f"/payments/{pid}/events")).json()
    assert [(e["source"], e["actor"]) for e in trail if e["to"] == "paid"] == [("staff", "staff")]
