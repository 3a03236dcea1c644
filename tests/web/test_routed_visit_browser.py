"""A routed visit (issue #17) in headless Chromium against a real back-office process: one
number, three stages, three counters' consoles move it along; the lobby display calls the
SAME number to each next counter (three calls); the phone page shows the route, where to
go next and the 手続き案内票; the console shows the route, this stage's forms and the
route actions (add a stage, skip it)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.web.conftest import Shots
from tests.web.test_pages_browser import (
    CONSOLE,
    PHONE,
    application_for,
    choose_counter,
    login,
    path_of,
    wait_current,
    wait_js,
    watch_errors,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROUTE = [{"service": "moving", "procedures": ["tennyu"]},
         {"service": "insurance", "procedures": ["kokuho_kanyu"]},
         {"service": "certificates", "procedures": ["juminhyo"]}]
GUIDE = [{"name": "小中学校の転入学", "place": "other", "office": "教育委員会",
          "bring": ["在学証明書"]}]
CALLS = "window.Announcer.log.filter(e => e.kind === 'call').map(e => e.counter)"
ROUTE_STATES = ("Array.from(document.querySelectorAll('#route-list li'))"
                ".map(li => li.dataset.status + (li.classList.contains('current') ? '*' : ''))")


def routed_ticket(server: Any) -> dict[str, Any]:
    body = {"route": ROUTE, "applications": [application_for("juminhyo")], "guide": GUIDE,
            "life_event": "tennyu", "language": "ja"}
    r = server.session("kiosk").post(f"{server.url}/api/v1/tickets", json=body,
                                     headers={"Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    return dict(r.json())


def serve_here(page: Any, number: str) -> None:
    """Call the next ticket (N) — it must be `number` — start (S) and complete (C) it."""
    page.locator("body").press("n")
    wait_current(page, number)
    page.wait_for_selector("#route-box:not([hidden])")
    page.locator("body").press("s")
    page.wait_for_selector("[data-action='complete']:not([disabled])")
    page.locator("body").press("c")
    wait_js(page, "!document.querySelector('#current .current-number') || "
                  "document.querySelector('#current .current-number').textContent === '—'")


def test_console_moves_a_routed_ticket_across_three_counters(backoffice: Any, browser: Any,
                                                             shots: Shots) -> None:
    server = backoffice
    ticket = routed_ticket(server)
    number = ticket["number"]
    errors: list[str] = []
    contexts = []
    try:
        display_ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        contexts.append(display_ctx)
        display = watch_errors(display_ctx.new_page(), errors)
        display.goto(f"{server.url}/display?ward=kita#token={server.display_token}")
        display.wait_for_selector("body[data-rendered]")

        phone_ctx = browser.new_context(viewport=PHONE, locale="ja-JP")
        contexts.append(phone_ctx)
        phone = watch_errors(phone_ctx.new_page(), errors)
        phone.goto(server.url + path_of(ticket["status_url"]))
        assert phone.locator("#route li").count() == 3
        assert "今ここ" in phone.text_content("#route li.current")
        guide = phone.text_content("#guide") or ""
        assert "教育委員会" in guide and "在学証明書" in guide

        consoles = []
        for counter in (3, 5, 2):  # 住民記録, 保険年金, 証明 in ward kita
            ctx = browser.new_context(viewport=CONSOLE, locale="ja-JP")
            contexts.append(ctx)
            page = watch_errors(ctx.new_page(), errors)
            login(page, server, "staff")
            choose_counter(page, counter)
            consoles.append(page)
        first, second, third = consoles

        # Stage 1 at counter 3: the route shows three stages, the first one current.
        first.locator("body").press("n")
        wait_current(first, number)
        first.wait_for_selector("#route-box:not([hidden])")
        assert first.evaluate(ROUTE_STATES) == ["called*", "waiting", "waiting"]
        assert "山田" not in (first.text_content("#app-data") or "")  # not this stage's form
        first.locator("body").press("s")
        first.wait_for_selector("[data-action='complete']:not([disabled])")
        first.locator("body").press("c")
        wait_js(display, f"{CALLS}.length >= 1")
        wait_js(phone, "document.querySelectorAll('#route li')[0].dataset.status === 'done'")
        assert "保険・年金" in (phone.text_content("#next-text") or "")

        # Stage 2 at counter 5: add a stage (印鑑登録) and skip it again, both audited.
        second.locator("body").press("n")
        wait_current(second, number)
        second.wait_for_selector("#route-box:not([hidden])")
        assert second.evaluate(ROUTE_STATES) == ["done", "called*", "waiting"]
        second.wait_for_selector("#add-procedure option[value='certificates|inkan']",
                                 state="attached")
        second.select_option("#add-procedure", "certificates|inkan")
        second.click("#add-stage")
        wait_js(second, "document.querySelectorAll('#route-list li').length === 4")
        second.click("#route-list li[data-seq='4'] button")
        wait_js(second, "document.querySelector(\"#route-list li[data-seq='4']\")"
                        ".dataset.status === 'skipped'")
        shots.take(second, "console-routed-visit")
        second.locator("body").press("s")
        second.wait_for_selector("[data-action='complete']:not([disabled])")
        second.locator("body").press("c")
        # each call waits for the one before it to be spoken (chime + the Ogg call)
        wait_js(display, f"{CALLS}.length >= 2", timeout=60_000)

        # Stage 3 at counter 2: this stage's form (住民票) is shown, with its PDF link.
        third.locator("body").press("n")
        wait_current(third, number)
        third.wait_for_selector("#app-table")
        assert "山田" in (third.text_content("#app-data") or "")
        assert third.locator("#route-forms a").count() == 1
        third.locator("body").press("s")
        third.wait_for_selector("[data-action='complete']:not([disabled])")
        third.locator("body").press("c")
        wait_js(phone, "document.body.dataset.status === 'done'")

        wait_js(display, f"{CALLS}.length >= 3", timeout=60_000)
        calls = display.evaluate(
            "window.Announcer.log.filter(e => e.kind === 'call')"
            ".map(e => e.prefix + '-' + String(e.number).padStart(3, '0') + '@' + e.counter)")
        assert calls == [f"{number}@3", f"{number}@5", f"{number}@2"]
        shots.take(phone, "phone-routed-visit")
    finally:
        for ctx in contexts:
            ctx.close()
    assert not errors, errors
    staff = server.session("staff")
    trail = staff.get(server.api(f"/tickets/{ticket['id']}/events")).json()
    types = [e["type"] for e in trail]
    assert types.count("ticket.called") == 3 and "visit.add" in types and "visit.skip" in types
    assert types.count("ticket.completed") == 1


TYPED = {"name": "山田　太郎", "birth_date": "1980-01-02", "sex": "1",
         "address": "大阪府大阪市北区梅田1-1", "new_address": "堺市北区新金岡町5丁1-1",
         "move_date": "2026-03-28", "householder": "山田　太郎", "members": "2"}


def test_interview_mode_issues_a_routed_ticket_from_the_console(backoffice: Any, browser: Any,
                                                                shots: Shots) -> None:
    server = backoffice
    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 1366, "height": 1400}, locale="ja-JP")
    try:
        page = watch_errors(ctx.new_page(), errors)
        login(page, server, "staff")
        choose_counter(page, 3)
        page.click("#interview-open")
        page.wait_for_selector("#iv-event option[value='tennyu']", state="attached")
        page.select_option("#iv-event", "tennyu")
        page.click("#iv-start")
        for _ in range(10):  # one question at a time; answer each with its first choice
            page.wait_for_selector("#iv-question, #iv-form")
            if page.locator("#iv-form").count():
                break
            before = page.text_content("#iv-question")
            page.locator("#iv-body [data-answer]").first.click()
            wait_js(page, "t => !document.getElementById('iv-question') || "
                          "document.getElementById('iv-question').textContent !== t", arg=before)
        page.wait_for_selector("#iv-form")
        assert page.locator("#iv-procedures li[data-code='tennyu']").count() == 1
        for key, value in TYPED.items():
            field = page.locator(f"#iv-form [name='{key}']")
            if field.count():
                field.fill(value)
        page.click("#iv-issue")
        page.wait_for_selector("#iv-number")
        number = page.text_content("#iv-number") or ""
        assert number.startswith("B-")
        assert page.locator("#iv-forms a").count() >= 1
        shots.take(page, "console-interview")
    finally:
        ctx.close()
    assert not errors, errors
    staff = server.session("staff")
    queue = staff.get(server.api("/wards/kita/queue")).json()
    waiting = [w for s in queue["services"] for w in s["waiting"] if w["number"] == number]
    assert waiting, "the interview's ticket waits in its first stage's queue"
    ticket = staff.get(server.api(f"/tickets/{waiting[0]['id']}")).json()
    assert ticket["route"][0]["service"] == "moving"
    assert ticket["applications"][0]["values"]["new_address"] == TYPED["new_address"]
