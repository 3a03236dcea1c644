"""The phone page follows its place in line from `position` messages alone: calls ahead of
it move its people-ahead count and wait without a re-read of its view per call (the
server coalesces them per queue: kiosk.backoffice.positions); its own call is shown at
once. Headless Debian Chromium against a real back-office process."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import issue
from tests.web.test_pages_browser import PHONE, path_of, wait_js, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _texts(page: Any) -> tuple[str, str]:
    return (str(page.text_content("#people-ahead")), str(page.text_content("#estimated-wait")))


def test_phone_page_moves_up_from_position_messages(backoffice: Any, browser: Any) -> None:
    server = backoffice
    errors: list[str] = []
    ahead = [issue(server) for _ in range(3)]
    mine = issue(server)
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    try:
        phone = watch_errors(ctx.new_page(), errors)
        views: list[str] = []
        phone.on("request", lambda r: views.append(r.url) if "/view" in r.url else None)
        phone.goto(server.url + path_of(mine["status_url"]))
        assert phone.text_content("#people-ahead") == "3 人"
        wait_js(phone, "document.body.dataset.live === 'up' && document.body.dataset.status")
        phone.wait_for_timeout(300)  # the re-read when the stream opened
        opened_with = len(views)
        start_wait = _texts(phone)[1]

        staff = server.session("staff")

        def call_next() -> dict[str, Any]:
            """Counter 2 calls the next ticket (after finishing the one it had)."""
            r = staff.post(server.api("/wards/kita/counters/2/call-next"))
            if r.status_code == 409:
                busy = r.json()["details"]["ticket"]
                for action in ("start", "complete"):
                    assert staff.post(server.api(f"/tickets/{busy}/{action}")).status_code == 200
                r = staff.post(server.api("/wards/kita/counters/2/call-next"))
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body

        # Two calls in a burst: one position message may carry both.
        assert [call_next()["number"] for _ in range(2)] == [t["number"] for t in ahead[:2]]
        wait_js(phone, "document.getElementById('people-ahead').textContent === '1 人'")
        assert _texts(phone)[1] != start_wait  # the wait came down with the place
        assert call_next()["number"] == ahead[2]["number"]
        wait_js(phone, "document.getElementById('people-ahead').textContent === '0 人'")
        moved_by = int(phone.evaluate("Number(document.body.dataset.positions || 0)"))
        assert moved_by >= 2, moved_by  # (a finished ticket may also move the wait)
        assert len(views) == opened_with, views  # no re-read of the view per call

        # What it shows is what a fresh page load shows.
        fresh = ctx.new_page()
        fresh.goto(server.url + path_of(mine["status_url"]))
        assert _texts(fresh) == _texts(phone)
        fresh.close()

        # Its own call: at once, with the counter (one re-read of its own view).
        assert call_next()["number"] == mine["number"]
        phone.wait_for_selector("#called:not([hidden])")
        assert "2 番窓口" in str(phone.text_content("#called"))
        assert phone.locator("#facts").is_hidden()
        assert not errors, errors
    finally:
        ctx.close()
