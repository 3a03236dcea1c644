"""The counter console, lobby display, phone page and supervisor overview in headless
Debian Chromium against a real back-office process (tests/support/backoffice.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kiosk.configfile import load_catalog
from kiosk.domain.application import Application, Identity
from tests.web.conftest import Shots, issue

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CONSOLE = {"width": 1366, "height": 768}
PHONE = {"width": 360, "height": 640}

# WCAG contrast of every visible text element, measured in the page (see contrast.js).
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")


def assert_contrast(page: Any, minimum: float, large_minimum: float, where: str) -> float:
    rows = page.evaluate(CONTRAST_JS)
    assert len(rows) > 5, f"{where}: no text measured"
    bad = [r for r in rows if not r["disabled"]
           and r["ratio"] < (large_minimum if r["large"] else minimum)]
    assert not bad, f"{where}: text below contrast {minimum}:1 — {bad}"
    return float(min(r["ratio"] for r in rows))


def application_for(procedure: str) -> dict[str, Any]:
    proc = load_catalog().procedure(procedure)
    return Application.build(proc, {"name": "山田 花子", "address": "堺市北区新金岡町5丁1-1",
                                    "birth_date": "1990-07-15", "copies": 2},
                             Identity.CARD).to_dict()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login(page: Any, server: Any, who: str, query: str = "") -> None:
    page.goto(f"{server.url}/console{query}")
    page.fill("#login-user", who)
    page.fill("#login-pass", server.passwords[who])
    page.click("#login-submit")


def choose_counter(page: Any, number: int) -> None:
    page.wait_for_selector("#counter-view:not([hidden])")
    page.wait_for_selector(f"#counter-select option[value='{number}']", state="attached")
    page.select_option("#counter-select", str(number))
    page.click("#counter-submit")
    page.wait_for_selector("#work-view:not([hidden]) [data-action='call_next']:not([disabled])")


def current_number(page: Any) -> str:
    return str(page.text_content("#current .current-number") or "").strip()


def wait_current(page: Any, number: str, timeout: float = 5000) -> None:
    wait_js(page,
        "n => (document.querySelector('#current .current-number') || {}).textContent === n",
        arg=number, timeout=timeout)


def wait_status(page: Any, word: str) -> None:
    wait_js(page,
        "w => (document.getElementById('current-status') || {}).textContent === w", arg=word)


def wait_js(page: Any, expression: str, arg: Any = None, timeout: float = 10_000) -> Any:
    """Poll a JavaScript expression until truthy. (Playwright's wait_for_function needs eval,
    which the pages' Content-Security-Policy rightly forbids; evaluate() does not.)"""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout} ms: {expression} ({arg!r})")
        time.sleep(0.02)


def watch_errors(page: Any, errors: list[str]) -> Any:
    """Collect script errors and console errors (a CSP violation is one) of a page."""
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}")
            if msg.type == "error" and "401" not in msg.text else None)
    return page


def test_counter_workflow_live_everywhere(backoffice: Any, browser: Any, shots: Shots) -> None:
    server = backoffice
    errors: list[str] = []
    first = issue(server, procedure="juminhyo", application=application_for("juminhyo"))
    second = issue(server)
    third = issue(server)

    # Lobby display, authenticated by its device token in the URL fragment.
    display_ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    display = watch_errors(display_ctx.new_page(), errors)
    display.goto(f"{server.url}/display?ward=kita#token={server.display_token}")
    display.wait_for_selector("body[data-rendered]")
    assert "#token" not in display.url  # the token leaves the address bar at once
    assert display.locator("#now-empty").is_visible()

    # The resident's phone, from the ticket's QR.
    phone_ctx = browser.new_context(viewport=PHONE, locale="en-US")
    phone = watch_errors(phone_ctx.new_page(), errors)
    phone.goto(server.url + path_of(first["status_url"]))
    assert phone.text_content("#ticket-number") == first["number"]
    assert phone.text_content("#people-ahead") == "0"
    assert "People ahead of you" in phone.text_content("#facts")
    behind = phone_ctx.new_page()  # the third resident, in Japanese
    behind.goto(server.url + path_of(third["status_url"]) + "?lang=ja")
    assert behind.text_content("#people-ahead") == "2 人"

    # Counter 1: wrong password refused, then the right one.
    staff_ctx = browser.new_context(viewport=CONSOLE)
    console = watch_errors(staff_ctx.new_page(), errors)
    console.goto(f"{server.url}/console")
    console.fill("#login-user", "staff")
    console.fill("#login-pass", "not-the-password")
    console.click("#login-submit")
    wait_js(console, "document.getElementById('login-error').textContent.length > 0")
    assert "パスワードが違います" in console.text_content("#login-error")
    assert console.locator("#work-view").is_hidden()
    login(console, server, "staff")
    choose_counter(console, 1)

    # Counter 2, another person, opened straight onto its counter by URL.
    other_ctx = browser.new_context(viewport=CONSOLE)
    other = other_ctx.new_page()
    login(other, server, "supervisor", "?ward=kita&counter=2")
    other.wait_for_selector("#work-view:not([hidden])")
    wait_js(other, "n => document.getElementById('queues').textContent.includes(n)",
                            arg=first["number"])

    # A kiosk issues a ticket: both consoles list it without reloading.
    walk_in = issue(server)
    for page in (console, other):
        wait_js(page, "n => document.getElementById('queues').textContent.includes(n)",
                               arg=walk_in["number"])

    # Call next by keyboard; the display shows it within a second.
    console.locator("body").press("n")
    wait_current(console, first["number"])
    started = time.monotonic()
    display.wait_for_selector(f"#now-calling li[data-number='{first['number']}']", timeout=5000)
    shown_after = time.monotonic() - started
    assert shown_after < 1.0, f"display took {shown_after:.2f} s"
    assert "1" in display.text_content(f"#now-calling li[data-number='{first['number']}'] .ctr")

    # The phone page says so, and the other counter sees the queue change without reload.
    phone.wait_for_selector("#called:not([hidden])")
    assert "counter 1" in phone.text_content("#called")
    wait_js(behind, "document.getElementById('people-ahead').textContent === '1 人'")
    wait_js(other, "n => !document.getElementById('queues').textContent.includes(n)",
                            arg=first["number"])

    # The display announced it: chime, then the back-office's audio of the call
    # (tests/web/test_announcements_browser.py plays it through and measures it).
    wait_js(display, "window.Announcer.log.some(e => e.kind === 'speech')", timeout=30_000)
    log = display.evaluate("window.Announcer.log")
    assert any(e["kind"] == "call" and e["counter"] == 1 for e in log), log
    assert any(e["kind"] == "chime" for e in log), log
    assert any(e["kind"] == "speech" and e["result"] == "played" for e in log), log

    # The application the kiosk attached, readable, and its PDF.
    console.wait_for_selector("#app-table")
    table = console.text_content("#app-table")
    assert "山田 花子" in table and "2通" in table.replace(" ", "") and "平成2年" in table
    assert console.text_content("#current-summary").startswith("住民票の写し")
    href = console.get_attribute("#pdf-link", "href")
    assert href and href.endswith(f"/tickets/{first['id']}/form.pdf")
    with staff_ctx.expect_page() as opened:  # P opens the form in a new tab
        console.locator("body").press("p")
    opened.value.close()
    pdf = console.request.get(server.url + href)
    assert pdf.status in (200, 503), pdf.status  # 503 only while the PDF renderer is absent
    if pdf.status == 200:
        assert pdf.body().startswith(b"%PDF")

    shots.take(console, "console", docs=True)
    shots.take(phone, "phone-called", docs=True)
    shots.take(behind, "phone-waiting")
    for public in (display, phone, behind):  # numbers only, never the resident's data
        html = public.content()
        assert "山田" not in html and "新金岡" not in html and "1990" not in html
    assert_contrast(console, 4.5, 3.0, "console")
    assert_contrast(display, 7.0, 7.0, "display")
    assert_contrast(phone, 4.5, 3.0, "phone")

    # Start and complete by keyboard; the phone follows.
    console.locator("body").press("s")
    wait_status(console, "対応中")
    phone.wait_for_selector("#state:not([hidden])")
    assert "being served" in phone.text_content("#state")
    console.locator("body").press("c")
    wait_current(console, "—")
    wait_js(phone, "document.body.dataset.status === 'done'")

    # The second counter calls with its button: the first console sees the queue shrink.
    other.click("[data-action='call_next']")
    wait_current(other, second["number"])
    wait_js(console, "n => !document.getElementById('queues').textContent.includes(n)",
                              arg=second["number"])
    display.wait_for_selector(f"#recent li[data-number='{first['number']}']")
    # The recent list may show the first number before the second call's refresh landed.
    wait_js(display, "() => (document.querySelector(\"#waits li[data-service='certificates']\")"
                     " || {}).textContent.includes('待ち 2 人')")
    waits = display.text_content("#waits li[data-service='certificates']")
    assert "証明書の発行 / Certificates" in waits and "待ち 2 人" in waits and "2 waiting" in waits
    shots.take(display, "display", docs=True)
    assert_contrast(display, 7.0, 7.0, "display with recent calls")

    # Hold, call back from the held list, no-show, recall, transfer — keys and buttons.
    console.locator("body").press("n")
    wait_current(console, third["number"])
    console.locator("body").press("h")
    console.wait_for_selector(f"#held button[aria-label='{third['number']} をこの窓口で呼ぶ']")
    console.click(f"#held button[aria-label='{third['number']} をこの窓口で呼ぶ']")
    wait_current(console, third["number"])
    console.locator("body").press("x")
    console.wait_for_selector(f"#held button[aria-label='{third['number']} を再呼出']")
    console.click(f"#held button[aria-label='{third['number']} を再呼出']")
    wait_status(console, "呼出中")
    console.locator("body").press("t")
    assert console.evaluate("document.activeElement.id") == "transfer-service"
    console.select_option("#transfer-service", "moving")
    console.keyboard.press("Tab")
    assert console.evaluate("document.activeElement.dataset.action") == "transfer"
    console.keyboard.press("Enter")
    wait_current(console, "—")
    assert "転送しました" in console.text_content("#toast")
    detail = server.session("staff").get(f"{server.url}/api/v1/tickets/{third['id']}").json()
    assert (detail["service"], detail["status"]) == ("moving", "waiting")

    # Every control is reachable with Tab and has a name a screen reader can say.
    reached: set[str] = set()
    console.locator("body").focus()
    for _ in range(40):
        console.keyboard.press("Tab")
        reached.add(console.evaluate(
            "(() => { const a = document.activeElement;"
            " return a.dataset.action || a.id || a.tagName; })()"))
    enabled = console.evaluate(
        "Array.from(document.querySelectorAll('#work-view [data-action]:not([disabled])'))"
        ".map(b => b.dataset.action)")
    assert set(enabled) <= reached, (enabled, reached)
    assert {"logout", "change-counter"} <= reached
    unnamed = console.evaluate(
        "Array.from(document.querySelectorAll('button, select, input, a[href]'))"
        ".filter(e => e.getClientRects().length)"
        ".filter(e => !(e.getAttribute('aria-label') || e.textContent.trim() ||"
        " (e.labels && e.labels.length)))"
        ".map(e => e.outerHTML.slice(0, 80))")
    assert not unnamed, unnamed

    assert not errors, errors
    for ctx in (display_ctx, phone_ctx, staff_ctx, other_ctx):
        ctx.close()


def test_roles_invalid_tokens_and_languages(backoffice: Any, browser: Any, shots: Shots) -> None:
    server = backoffice
    ticket = issue(server)
    issue(server, "moving")
    ctx = browser.new_context(viewport=CONSOLE)
    page = ctx.new_page()

    # A staff account cannot reach the supervisor overview nor the admin API.
    login(page, server, "staff")
    page.wait_for_selector("#counter-view:not([hidden])")
    resp = page.goto(f"{server.url}/supervisor")
    assert resp is not None and resp.status == 403
    assert "権限がありません" in page.text_content("h1")
    assert page.request.get(f"{server.url}/api/v1/admin/staff").status == 403
    ctx.close()

    # A lobby display with a wrong or revoked device token says so instead of going blank.
    dctx = browser.new_context()
    display = dctx.new_page()
    display.goto(f"{server.url}/display?ward=kita#token=dv_not-a-real-token")
    wait_js(display,
        "(document.getElementById('conn-banner') || {}).textContent?.includes('refused')")
    dctx.close()

    # Not signed in at all: sent to the login page.
    ctx = browser.new_context(viewport=CONSOLE)
    page = ctx.new_page()
    page.goto(f"{server.url}/supervisor")
    assert urlsplit(page.url).path == "/console"

    # A supervisor sees per-service waits and per-counter state.
    login(page, server, "supervisor", "?next=/supervisor")
    page.wait_for_url(re.compile(r".*/supervisor$"))
    page.wait_for_selector("#services-table tr[data-service='certificates']")
    waiting = "#services-table tr[data-service='certificates'] .waiting-count"
    assert page.text_content(waiting) == "1 人"
    server.session("supervisor").post(f"{server.url}/api/v1/wards/kita/counters/2/call-next")
    wait_js(page,
        "n => (document.querySelector(\"#counters-table tr[data-counter='2'] .cur-number\")"
        " || {}).textContent === n", arg=ticket["number"])
    assert page.text_content(waiting) == "0 人"
    shots.take(page, "supervisor", docs=True)
    assert_contrast(page, 4.5, 3.0, "supervisor")
    ctx.close()

    # Invalid or expired status token: a clear page with HTTP 404, never a trace.
    ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = ctx.new_page()
    for bad in ("nosuchtoken-0000000000", "x", "a" * 200):
        resp = page.goto(f"{server.url}/status/{bad}")
        assert resp is not None and resp.status == 404, bad
        body = page.text_content("body")
        assert "有効期限" in body and "Traceback" not in body
    shots.take(page, "phone-invalid")

    # The phone page in the phone's language, switchable, no personal data.
    resp = page.goto(server.url + path_of(ticket["status_url"]) + "?lang=vi")
    assert page.locator("html").get_attribute("lang") == "vi-VN"
    assert "Số người trước bạn" in page.text_content("#facts")
    page.select_option("#lang-select", "ko")
    page.wait_for_url(re.compile(r".*lang=ko"))
    assert page.locator("html").get_attribute("lang") == "ko-KR"
    page.select_option("#lang-select", "ja")
    page.wait_for_url(re.compile(r".*lang=ja$"))
    assert "受付番号" in (page.get_attribute("#ticket-number", "aria-label") or "")
    ctx.close()


def test_a_late_answer_does_not_undo_a_sign_in(backoffice: Any, browser: Any) -> None:
    """The sign-in form is there before the page's own "who am I" (/auth/me) answers. On a
    slow server someone can sign in first; the late "not signed in" must leave them at the
    counter choice, not put the sign-in form back (seen in CI under load)."""
    held: list[Any] = []
    ctx = browser.new_context(viewport=CONSOLE)
    try:
        page = ctx.new_page()
        page.route("**/api/v1/auth/me", lambda route: held.append(route))  # answered later
        login(page, backoffice, "staff")
        page.wait_for_selector("#counter-view:not([hidden])")
        assert len(held) == 1
        held[0].fulfill(status=401, content_type="application/json",
                        body='{"error": {"code": "unauthenticated", "message": "sign in"}}')
        page.wait_for_timeout(1000)   # the late answer has been handled
        assert page.is_visible("#counter-view") and page.is_hidden("#login-view")
    finally:
        ctx.close()


def test_display_and_console_reconnect_and_catch_up(backoffice: Any, browser: Any) -> None:
    server = backoffice
    ticket = issue(server)
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    display = ctx.new_page()
    display.goto(f"{server.url}/display?ward=kita&counters=1,2#token={server.display_token}")
    display.wait_for_selector("body[data-rendered]")
    staff = browser.new_context(viewport=CONSOLE)
    console = staff.new_page()
    login(console, server, "staff")
    choose_counter(console, 2)

    server.stop()
    display.wait_for_selector("#conn-banner:not([hidden])", timeout=10_000)
    assert "reconnecting" in display.text_content("#conn-banner")
    console.wait_for_selector("#conn-banner:not([hidden])", timeout=10_000)

    server.restart()
    # A call made while the pages are still reconnecting: they catch up to it.
    server.session("staff").post(f"{server.url}/api/v1/wards/kita/counters/1/call-next")
    display.wait_for_selector(f"#now-calling li[data-number='{ticket['number']}']", timeout=15_000)
    display.wait_for_selector("#conn-banner", state="hidden", timeout=10_000)
    # ...and announces it once, with the back-office's audio of that call.
    wait_js(display, "window.Announcer.log.some(e => e.kind === 'speech')", timeout=30_000)
    log = display.evaluate("window.Announcer.log")
    assert [(e["label"], e["counter"]) for e in log if e["kind"] == "call"] == [
        (ticket["number"], 1)]
    assert [e["result"] for e in log if e["kind"] == "speech"] == ["played"]
    wait_js(console, "n => !document.getElementById('queues').textContent.includes(n)",
                              arg=ticket["number"], timeout=15_000)
    console.wait_for_selector("#conn-banner", state="hidden")
    staff.close()
    ctx.close()


@pytest.mark.postgres
def test_display_live_across_two_server_processes_on_postgres(backoffice_factory: Any,
                                                              browser: Any) -> None:
    """Two back-office worker processes on one PostgreSQL: the display's stream lives on
    one, the calls land on either, every call still reaches the screen."""
    server = backoffice_factory.start("postgres", workers=2)
    tickets = [issue(server) for _ in range(4)]
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    display = ctx.new_page()
    display.goto(f"{server.url}/display?ward=kita#token={server.display_token}")
    display.wait_for_selector("body[data-rendered]")
    staff = server.session("staff")
    for ticket in tickets:
        resp = staff.post(f"{server.url}/api/v1/wards/kita/counters/1/call-next")
        assert resp.status_code == 200, resp.text
        display.wait_for_selector(f"#now-calling li[data-number='{ticket['number']}']",
                                  timeout=5000)
        staff.post(f"{server.url}/api/v1/tickets/{ticket['id']}/no-show",
                   json={"counter": 1}).raise_for_status()
    ctx.close()
