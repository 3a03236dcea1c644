"""The public booking page (issue #19) in headless Chromium at a phone's viewport against
a real back-office: ward → procedure → day → slot → contact → a booking code and its QR
(decoded from the screenshot), then find it by code and cancel it; every control labelled,
WCAG contrast, no script or CSP error, and the contact nowhere in what the server sends."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from tests.web.conftest import Shots
from tests.web.test_congestion_browser import LABELS_JS
from tests.web.test_pages_browser import PHONE, assert_contrast, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CONTACT = "hanako.yamada@example.jp"


def test_book_find_and_cancel_on_a_phone(backoffice: Any, browser: Any, shots: Shots) -> None:
    errors: list[str] = []
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = watch_errors(ctx.new_page(), errors)
    page.goto(f"{backoffice.url}/book")
    page.click("a.choice >> text=北区役所")
    page.click("a.choice >> text=住民票の写し")
    page.click("ul.choices a.choice >> nth=0")  # the first day with places
    assert_contrast(page, 4.5, 3.0, "booking: slots")
    page.click(".slots button >> nth=0")
    page.wait_for_selector("#contact")
    seen = page.evaluate(LABELS_JS)
    assert not seen["unlabelled"], seen["unlabelled"]
    shots.take(page, "booking-confirm", docs=True)
    page.fill("#contact", CONTACT)
    page.click("button:has-text('予約する')")
    page.wait_for_selector("#booking-code")
    code = (page.text_content("#booking-code") or "").strip()
    assert len(code) == 10
    assert "住民票の写し" in (page.text_content("dl.facts") or "")
    shot = shots.take(page, "booking-done", docs=True)
    png = page.locator("svg.qr").screenshot()
    assert [d.data.decode() for d in decode(Image.open(io.BytesIO(png)))] == [
        f"WARDAPPT:{code}"], shot
    assert_contrast(page, 4.5, 3.0, "booking: done")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert CONTACT not in page.content()  # neither on the page nor in the server's log
    assert CONTACT not in backoffice.log_text() and "hanako" not in backoffice.log_text()
    # later: find it by the code (typed in lower case) and cancel it
    page.goto(f"{backoffice.url}/book/manage?lang=en")
    page.fill("#code", code.lower())
    page.click("button:has-text('Look up')")
    page.wait_for_selector("#booking-code")
    page.click("button:has-text('Cancel the booking')")
    page.wait_for_selector("h2:has-text('The booking is cancelled')")
    assert not errors, errors
    ctx.close()


def test_move_a_booking_by_its_code_on_a_phone(backoffice: Any, browser: Any,
                                              shots: Shots) -> None:
    """/book/manage: the code → 予約を変更する → a day → a slot: the same code and QR at
    the new time (the API's move: the old place given back); the code never in a URL."""
    import requests

    from tests.support.booking import book

    code = book(backoffice, contact="move@example.jp", procedure="juminhyo")
    before = requests.post(backoffice.api("/public/appointments/find"),
                           json={"code": code}, timeout=30).json()["slot"]
    errors: list[str] = []
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = watch_errors(ctx.new_page(), errors)
    page.goto(f"{backoffice.url}/book/manage")
    page.fill("#code", code)
    page.click("button:has-text('確認する')")
    page.click("button:has-text('予約を変更する')")
    page.wait_for_selector("h2:has-text('新しい日にちを選んでください')")
    assert_contrast(page, 4.5, 3.0, "move: days")
    page.click("ul.choices button.choice >> nth=-1")   # the last day with places
    page.wait_for_selector(".slots button")
    shots.take(page, "booking-move-slots", docs=True)
    page.click(".slots button >> nth=0")
    page.wait_for_selector("h2:has-text('予約を変更しました')")
    assert (page.text_content("#booking-code") or "").strip() == code
    png = page.locator("svg.qr").screenshot()
    assert [d.data.decode() for d in decode(Image.open(io.BytesIO(png)))] == [
        f"WARDAPPT:{code}"]
    assert_contrast(page, 4.5, 3.0, "move: done")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert code not in page.url
    after = requests.post(backoffice.api("/public/appointments/find"),
                          json={"code": code}, timeout=30).json()
    assert after["status"] == "booked" and after["slot"] != before
    assert after["slot"][11:] in (page.text_content("dl.facts") or "")   # the new time
    assert not errors, errors
    ctx.close()
