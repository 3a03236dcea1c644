"""A place in today's queue from the phone (issue #19) in headless Chromium at a phone's
viewport against a real back-office: the ward's services with their wait → take a place →
a code and its QR (decoded from the screenshot) and the people ahead → checked in at the
kiosk (the kiosk's API, as its check-in screen will call it) → the page shows the ticket
and leads to its status page. axe-core: no serious violation on any step, in Japanese,
English, Korean and simplified Chinese; WCAG contrast; no script or CSP error."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from tests.support.notify import mailbox, notify_config, push_service  # noqa: F401
from tests.web.axe import assert_no_serious
from tests.web.conftest import Shots, issue
from tests.web.test_congestion_browser import LABELS_JS
from tests.web.test_pages_browser import PHONE, assert_contrast, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_take_a_place_from_the_phone_and_check_in(backoffice: Any, browser: Any,
                                                  shots: Shots) -> None:
    errors: list[str] = []
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = watch_errors(ctx.new_page(), errors)
    page.goto(f"{backoffice.url}/queue/kita")  # nobody waiting: come straight in
    assert "直接お越しください" in (page.text_content("section.remote-service") or "")
    assert page.locator("section.remote-service form").count() == 0
    assert_no_serious(page, "queue: nothing to take")
    for _ in range(6):  # a wait longer than the catalog's 10 minutes
        issue(backoffice, "certificates")
    page.goto(f"{backoffice.url}/queue")
    assert_no_serious(page, "queue: wards")
    page.click("a.choice >> text=北区役所")
    assert "6 人" in (page.text_content("section.remote-service dl.facts") or "")
    assert_no_serious(page, "queue: services")
    assert_contrast(page, 4.5, 3.0, "queue: services")
    shots.take(page, "remote-services", docs=True)
    page.click("button:has-text('この順番を取る')")
    page.wait_for_selector("#place-code")
    code = (page.text_content("#place-code") or "").strip()
    assert len(code) == 10 and page.text_content("#people-ahead") == "6 人"
    seen = page.evaluate(LABELS_JS)
    assert not seen["unlabelled"], seen["unlabelled"]
    assert_no_serious(page, "queue: taken")
    assert_contrast(page, 4.5, 3.0, "queue: taken")
    shot = shots.take(page, "remote-taken", docs=True)
    png = page.locator("svg.qr").screenshot()
    assert [d.data.decode() for d in decode(Image.open(io.BytesIO(png)))] == [
        f"WARDAPPT:{code}"], shot
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    issue(backoffice, "certificates")  # a walk-in who comes after the place was taken
    # at the ward office: the kiosk checks the code in (as scanned); the place keeps its spot
    r = backoffice.session("kiosk").post(backoffice.api("/remote/check-in"),
                                         json={"code": f"WARDAPPT:{code}"}, timeout=10)
    assert r.status_code == 200, r.text
    ticket = r.json()["ticket"]
    assert ticket["people_ahead"] == 6 and r.json()["remote"]["status"] == "checked_in"
    page.click("button:has-text('最新の状況を見る')")
    page.wait_for_selector("#place-state")
    assert ticket["number"] in (page.text_content("main") or "")
    assert_no_serious(page, "queue: checked in")
    page.click("a:has-text('呼び出し状況を見る')")
    page.wait_for_selector("#ticket-number")
    assert page.text_content("#ticket-number") == ticket["number"]
    assert not errors, errors
    ctx.close()


@pytest.mark.parametrize("lang", ["en", "ko", "zh-Hans"])
def test_the_queue_pages_in_other_languages(backoffice: Any, browser: Any, lang: str) -> None:
    for _ in range(6):
        issue(backoffice, "certificates")
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    page.goto(f"{backoffice.url}/queue/kita?lang={lang}")
    assert_no_serious(page, f"queue: services [{lang}]")
    page.click("section.remote-service form button")
    page.wait_for_selector("#place-code")
    assert_no_serious(page, f"queue: taken [{lang}]")
    assert_contrast(page, 4.5, 3.0, f"queue: taken [{lang}]")
    body = page.text_content("main") or ""
    if lang == "en":
        assert "People ahead of you" in body and "Check-in code" in body
    code = (page.text_content("#place-code") or "").strip()
    page.goto(f"{backoffice.url}/queue/manage?lang={lang}")
    assert_no_serious(page, f"queue: manage [{lang}]")
    page.fill("#code", code.lower())
    page.click("form[action='/queue/find'] button")
    page.wait_for_selector("#place-code")
    page.click("form[action='/queue/cancel'] button")
    page.wait_for_selector("#place-state")
    assert_no_serious(page, f"queue: cancelled [{lang}]")
    ctx.close()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_place_page_opts_in_by_email_and_the_notice_arrives(
        backoffice_factory: Any, tmp_path: Any, browser: Any, shots: Shots, lang: str,
        push_service: Any, mailbox: Any) -> None:  # noqa: F811
    """The place page's form (no script): the "check in by HH:MM" e-mail comes when the
    server's timer finds the place almost its turn — nobody reloads the page."""
    config, _public = notify_config(tmp_path, push_service, mailbox)
    server = backoffice_factory.start(config={**config, "remote": {
        "sweep_seconds": 0.2, "almost_ahead": 1}})
    for _ in range(6):  # a wait longer than the catalog's 10 minutes
        issue(server, "certificates")
    errors: list[str] = []
    ctx = browser.new_context(viewport=PHONE)
    page = watch_errors(ctx.new_page(), errors)
    page.goto(f"{server.url}/queue/kita?lang={lang}")
    page.click("section.remote-service form button")
    page.wait_for_selector("#place-code")
    code = (page.text_content("#place-code") or "").strip()
    assert_no_serious(page, f"queue: taken, e-mail form [{lang}]")
    address = f"queue-{lang}@example.org"
    page.fill("#address", address)
    page.click("section.remote-notify button")
    page.wait_for_selector("#place-mailed")
    assert (page.text_content("#place-code") or "").strip() == code
    assert_no_serious(page, f"queue: e-mail on [{lang}]")
    assert_contrast(page, 4.5, 3.0, f"queue: e-mail on [{lang}]")
    page.locator("#place-mailed").scroll_into_view_if_needed()
    shots.take(page, f"remote-mailed-{lang}", docs=lang == "ja")
    staff = server.session("staff")
    for _ in range(5):  # 1 ahead: [remote] almost_ahead
        r = staff.post(server.api("/wards/kita/counters/1/call-next"), timeout=10)
        called = r.json().get("ticket", r.json())
        for action in ("start", "complete"):
            staff.post(server.api(f"/tickets/{called['id']}/{action}"), timeout=10)
    mails = mailbox.wait_for(address, 1)
    subject = {"ja": "もうすぐ順番です", "en": "Your turn is coming up"}[lang]
    assert mails and mails[0].subject == subject, mails
    assert code not in mails[0].body and "@" not in mails[0].body
    page.click("form[action='/queue/find'] button")  # re-read: the page says the time too
    page.wait_for_selector("p.notice[role=status]")
    assert not errors, errors
    ctx.close()
