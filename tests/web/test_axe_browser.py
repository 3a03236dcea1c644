"""axe-core (tests/web/axe.py) on every public page in headless Chromium at a phone's
viewport, in Japanese, English, Korean and simplified Chinese: the booking flow (/book →
ward → procedure → day → slot → contact → code, /book/manage → found), the congestion
page, the phone status page (waiting and called) and its 404 page — 0 serious or critical
violations. The lobby display and the staff console are counted too (docs/home.md)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from tests.web.axe import BLOCKING, assert_no_serious, axe_violations
from tests.web.conftest import issue
from tests.web.test_pages_browser import PHONE, choose_counter, login, path_of, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LANGUAGES = ("ja", "en", "ko", "zh-Hans")
TIMINGS: list[float] = []  # seconds per axe run (injection included on a fresh page)


def walk_public_pages(page: Any, url: str, lang: str, status_path: str) -> list[str]:
    """Visit each public page in `lang`, axe-checking each; returns what was checked."""
    checked: list[str] = []

    def check(where: str) -> None:
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.lang"), where
        started = time.perf_counter()
        assert_no_serious(page, f"{where} [{lang}]")
        TIMINGS.append(time.perf_counter() - started)
        checked.append(where)

    page.goto(f"{url}/book?lang={lang}")
    check("book: wards")
    page.click("ul.choices a.choice >> nth=0")
    check("book: procedures")
    page.click("ul.choices a.choice >> nth=0")
    check("book: days")
    page.click("ul.choices a.choice >> nth=0")
    check("book: slots")
    page.click(".slots button >> nth=0")
    page.wait_for_selector("#contact")
    check("book: contact")
    page.fill("#contact", f"axe-{lang}@example.jp")
    page.click("form[action='/book/confirm'] button")
    page.wait_for_selector("#booking-code")
    check("book: done")
    code = (page.text_content("#booking-code") or "").strip()
    page.goto(f"{url}/book/manage?lang={lang}")
    check("book: manage")
    page.fill("#code", code)
    page.click("form[action='/book/find'] button")
    page.wait_for_selector("#booking-code")
    check("book: found")
    page.goto(f"{url}/book/manage?lang={lang}")
    page.fill("#code", "NOSUCHCODE")
    page.click("form[action='/book/find'] button")
    page.wait_for_selector("[role=alert]")
    check("book: not found")
    page.goto(f"{url}/congestion/kita?lang={lang}")
    check("congestion")
    page.goto(f"{url}{status_path}?lang={lang}")
    page.wait_for_selector("#ticket-number")
    check("status")
    page.goto(f"{url}/status/not-a-token?lang={lang}")
    check("status: 404")
    return checked


def test_public_pages_have_no_serious_axe_violations(backoffice: Any, browser: Any) -> None:
    ticket = issue(backoffice, "certificates")
    errors: list[str] = []
    for lang in LANGUAGES:
        ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
        page = watch_errors(ctx.new_page(), errors)
        checked = walk_public_pages(page, backoffice.url, lang, path_of(ticket["status_url"]))
        assert len(checked) == 12
        ctx.close()
    # the phone page once the ticket is called (a different view: green, counter)
    staff = backoffice.session("staff")
    r = staff.post(backoffice.api("/wards/kita/counters/1/call-next"))
    assert r.status_code in (200, 201), r.text
    ctx = browser.new_context(viewport=PHONE, locale="en-US")
    page = watch_errors(ctx.new_page(), errors)
    page.goto(backoffice.url + path_of(ticket["status_url"]))
    page.wait_for_selector("#ticket-number")
    assert_no_serious(page, "status: called")
    ctx.close()
    assert not [e for e in errors if "404" not in e], errors
    print(f"axe-core: {len(TIMINGS)} runs, median {statistics.median(TIMINGS) * 1000:.0f} ms, "
          f"max {max(TIMINGS) * 1000:.0f} ms")


def test_staff_pages_axe_counts(backoffice: Any, browser: Any) -> None:
    """The lobby display and the counter console: serious/critical counts, printed for the
    report (docs/home.md) and held at zero."""
    issue(backoffice, "certificates")
    found: dict[str, list[dict[str, Any]]] = {}
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    display = ctx.new_page()
    display.goto(f"{backoffice.url}/display?ward=kita#token={backoffice.display_token}")
    display.wait_for_selector("body[data-rendered]")
    found["display"] = axe_violations(display)
    console = ctx.new_page()
    login(console, backoffice, "staff")
    found["console: login → counter"] = axe_violations(console)
    choose_counter(console, 1)
    found["console: work"] = axe_violations(console)
    ctx.close()
    print("axe-core on staff pages:",
          {k: [f"{v['impact']} {v['id']}" for v in vs] for k, vs in found.items()})
    serious = {k: [v for v in vs if v["impact"] in BLOCKING] for k, vs in found.items()}
    assert not any(serious.values()), serious


def test_axe_finds_what_it_should(browser: Any) -> None:
    """The harness is no silent no-op: a page with a bare image and an unlabelled field."""
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    page.set_content("<html><body><img src='x.png'><input></body></html>")
    found = {v["id"]: v["impact"] for v in axe_violations(page)}
    assert found["image-alt"] == "critical" and found["label"] == "critical", found
    with pytest.raises(AssertionError, match="image-alt"):
        assert_no_serious(page, "probe")
    ctx.close()
