"""The phone page's notification opt-in in headless Debian Chromium (phone width) against a
real back-office with the push service and SMTP stand-ins (issue #19).

* E-mail: typed on the page, the call arrives at the local SMTP server, in the page's
  language; stopping it on the page forgets the address.
* Web Push: the button registers the page's service worker (/push-sw.js, scope /status/)
  and asks Chromium's PushManager — which needs Chromium's own push service (FCM) and so
  cannot subscribe on a closed network: the page says so plainly. The subscription a
  browser would send is then made as a browser makes it (tests/support/notify.py) and
  posted from the page itself; the "called" notice reaches the stand-in, decrypted, and
  the page's stop button removes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hardware.push_service import PushService
from tests.support.backoffice import ServerFactory
from tests.support.notify import Mailbox, mailbox, notify_config, push_service  # noqa: F401
from tests.web.conftest import Shots, issue
from tests.web.test_pages_browser import PHONE, path_of, wait_js, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_phone_page_opt_in_by_email_and_push(backoffice_factory: ServerFactory, tmp_path: Path,
                                             browser: Any, shots: Shots,
                                             push_service: PushService,  # noqa: F811
                                             mailbox: Mailbox) -> None:  # noqa: F811
    config, public = notify_config(tmp_path, push_service, mailbox)
    server = backoffice_factory.start(config=config)
    errors: list[str] = []
    first = issue(server)
    mine = issue(server)
    ctx = browser.new_context(viewport=PHONE, locale="en-US")
    ctx.grant_permissions(["notifications"], origin=server.url)
    try:
        page = watch_errors(ctx.new_page(), errors)
        page.goto(server.url + path_of(mine["status_url"]) + "?lang=en")
        page.wait_for_selector("#notify:not([hidden])")
        assert page.text_content("#notify-title") == "Tell me when my turn is near"
        assert page.locator("#push-on").is_visible()   # Chromium has a PushManager
        shots.take(page, "phone-notify")

        # --- e-mail, typed on the page
        address = "phone-page@example.org"
        page.fill("#email-address", address)
        page.click("#email-on")
        page.wait_for_selector("#email-off:not([hidden])")
        assert page.text_content("#notify-status") == "Notices will come by e-mail"
        ahead = mailbox.wait_for(address, 1)        # one ahead: "N ahead" at once
        assert ahead and ahead[0].subject == "Your turn is coming soon", ahead

        # --- push: Chromium's own subscription needs its vendor's service (offline here)
        page.click("#push-on")
        wait_js(page, "document.getElementById('notify-status').textContent !== "
                      "'Setting up…' && document.getElementById('notify-status').textContent",
                timeout=30_000)
        status = str(page.text_content("#notify-status"))
        registered = page.evaluate("navigator.serviceWorker.getRegistration('/status/')"
                                   ".then(r => Boolean(r && r.active || r && r.installing"
                                   " || r && r.waiting))")
        assert registered, "the page's service worker was not registered"
        if status != "Notices will come to this device":  # no push service reachable
            assert status.startswith("That did not work"), status
            sub = push_service.subscribe(public)  # what the browser would have made
            answer = page.evaluate(
                """([url, body]) => fetch(url, {method: "PUT", body: JSON.stringify(body),
                       headers: {"Content-Type": "application/json"}}).then(r => r.status)""",
                [server.api(f"/status/{path_of(mine['status_url']).rsplit('/', 1)[-1]}"
                            "/notifications/push").replace(server.url, ""),
                 {**sub.to_json(), "language": "en"}])
            assert answer == 200
            page.reload()
            page.wait_for_selector("#push-off:not([hidden])")
        # Chromium's own words for it (incognito-like test contexts have no Push API at all)
        errors[:] = [e for e in errors if not any(
            w in e.lower() for w in ("push service", "registration failed", "push api",
                                     "incognito"))]

        # --- the call reaches both
        staff = server.session("staff")
        for expected in (first, mine):
            r = staff.post(server.api("/wards/kita/counters/1/call-next"), timeout=10)
            assert r.status_code == 200 and r.json()["id"] == expected["id"], r.text
            if expected is first:
                for action in ("start", "complete"):
                    assert staff.post(server.api(f"/tickets/{first['id']}/{action}"),
                                      timeout=10).status_code == 200
        mails = mailbox.wait_for(address, 2)
        assert mails[-1].subject == "You are being called", mails
        assert mails[-1].body.startswith(f"Ticket {mine['number']}, please come to counter 1")
        if status != "Notices will come to this device":
            got = push_service.wait_for(sub, 2)
            assert [g["kind"] for g in got][-1] == "called", got
        page.wait_for_selector("#called:not([hidden])")

        # --- stopping both on the page
        page.click("#email-off")
        page.wait_for_selector("#email-form:not([hidden])")
        page.click("#push-off")
        page.wait_for_selector("#push-on:not([hidden])")
        assert page.text_content("#notify-status") == "Notices stopped"
        assert not errors, errors
    finally:
        ctx.close()
