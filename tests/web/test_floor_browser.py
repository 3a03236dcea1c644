"""The floor view (/floor) in headless Chromium: a kiosk's "ask staff" (through the real
API, with the kiosk's device token) reaches the open page live, with the chime; a clerk
takes it and the page shows who. Nothing about the resident is in the request."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import Shots
from tests.web.test_pages_browser import login, wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_kiosks_request_arrives_live_with_a_chime_and_a_clerk_takes_it(
        backoffice: Any, browser: Any, shots: Shots) -> None:
    server = backoffice
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    login(page, server, "staff", "?next=/floor")
    page.wait_for_url(lambda url: url.endswith("/floor"))
    page.wait_for_selector("body[data-rendered]")
    assert page.is_visible("#floor-none")

    kiosk = server.session("kiosk")
    r = kiosk.post(f"{server.url}/api/v1/floor/requests",
                   json={"place": "1階 正面入口", "reason": "keypad"})
    assert r.status_code == 201, r.text
    asked = r.json()
    assert set(asked) == {"id", "ward", "kiosk", "place", "reason", "created_at", "taken_by",
                          "taken_at"}
    # nothing personal can come along: the body takes a place and a reason only
    refused = kiosk.post(f"{server.url}/api/v1/floor/requests",
                         json={"place": "1階", "name": "山田 太郎"})
    assert refused.status_code == 422

    row = f"#open-table tr[data-request='{asked['id']}']"
    page.wait_for_selector(row, timeout=15_000)         # pushed live, no reload
    assert "1階 正面入口" in page.inner_text(row) and asked["kiosk"] in page.inner_text(row)
    wait_js(page, "window.Floor.log.some(e => e.kind === 'chime')")
    shots.take(page, "floor-request")

    page.click(f"{row} button.take")
    taken = f"#taken-table tr[data-request='{asked['id']}']"
    page.wait_for_selector(taken)
    assert "staff" in page.inner_text(f"{taken} .taken-by")
    assert page.query_selector(row) is None
    listing = server.session("staff").get(f"{server.url}/api/v1/wards/kita/floor/requests")
    assert listing.json()["open"] == []
    assert listing.json()["taken"][0]["taken_by"] == "staff"

    # a second clerk taking it after the first is told who has it
    again = server.session("supervisor").post(
        f"{server.url}/api/v1/wards/kita/floor/requests/{asked['id']}/take")
    assert again.status_code == 409 and "staff" in again.text
    ctx.close()
