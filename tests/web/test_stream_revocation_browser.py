"""The lobby display and the phone page in Chromium while their streams are governed:
a revoked display says so within the token window; the phone page keeps working on the
public projection (it re-reads its own view after each event)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests

from tests.web.conftest import issue
from tests.web.test_pages_browser import wait_js

WINDOW = 2  # [security] token_cache_seconds of this server


def test_a_revoked_display_says_so_and_the_phone_follows_its_calls(backoffice_factory: Any,
                                                                     browser: Any) -> None:
    server = backoffice_factory.start(config={"security": {"token_cache_seconds": WINDOW}})
    admin = server.session("admin")
    r = admin.post(server.api("/admin/devices"), timeout=10, json={
        "name": f"lobby-{uuid.uuid4().hex[:6]}", "kind": "display", "ward": "kita"})
    assert r.status_code == 201, r.text
    device = r.json()
    mine = issue(server)
    behind = issue(server)
    ctx = browser.new_context()
    display = ctx.new_page()
    display.goto(f"{server.url}/display?ward=kita#token={device['token']}")
    display.wait_for_selector("body[data-rendered]")
    phone = ctx.new_page()
    phone.goto(f"{server.url}/status/{behind['status_token']}")
    wait_js(phone, "document.body.dataset.live === 'up'")

    # A call of another ticket reaches the phone page (public events only) and the display.
    staff = server.session("staff")
    called = staff.post(server.api(f"/tickets/{mine['id']}/call"), timeout=10,
                        json={"counter": 1, "note": "車椅子の方"})
    assert called.status_code == 200, called.text
    display.wait_for_selector(f"#now-calling li[data-number='{mine['number']}']")
    wait_js(phone, "document.getElementById('people-ahead').textContent === '0'")
    assert "車椅子" not in display.content() and "車椅子" not in phone.content()

    since = time.monotonic()
    assert admin.delete(server.api(f"/admin/devices/{device['id']}"),
                        timeout=10).status_code == 204
    wait_js(display,
            "(document.getElementById('conn-banner') || {}).textContent?.includes('refused')",
            timeout=(WINDOW + 8) * 1000)
    # The stream ends within the window; the page's reconnect (with back-off) is then refused.
    assert time.monotonic() - since < WINDOW + 8
    assert requests.get(server.api("/events?ward=kita"), timeout=10, headers={
        "Authorization": f"Bearer {device['token']}"}).status_code == 401
    ctx.close()
