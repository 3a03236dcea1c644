"""Staff pages in English and the central office (本庁) view, in headless Debian Chromium
against a real back-office process; the central CSV on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.web.conftest import Shots, issue
from tests.web.test_pages_browser import (
    CONSOLE,
    application_for,
    assert_contrast,
    choose_counter,
    login,
    wait_current,
    wait_js,
    watch_errors,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Visible text (and screen-reader names) with kana or kanji, leaving out what is meant to
# stay as it is: the language names in the language choice, and the values of the
# application (the resident's own data, as the printed form shows it).
JAPANESE_LEFT_JS = r"""
() => {
  const jp = /[\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u4e00-\u9fff\uff66-\uff9f]/;  // kana, kanji
  const skip = el => el.closest('#lang-select, #app-data td');
  const shown = el => { const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility !== 'hidden' && el.getClientRects().length; };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || skip(el) || !shown(el) || el.closest('script')) continue;
    if (jp.test(node.textContent)) out.push(node.textContent.trim());
  }
  document.querySelectorAll('[aria-label], [title], option').forEach(el => {
    if (skip(el)) return;
    const text = (el.getAttribute('aria-label') || '') + ' ' + (el.getAttribute('title') || '')
      + (el.tagName === 'OPTION' ? el.textContent : '');
    if (jp.test(text)) out.push(text.trim());
  });
  if (jp.test(document.title)) out.push('title: ' + document.title);
  return out;
}
"""


def japanese_left(page: Any) -> list[str]:
    return list(page.evaluate(JAPANESE_LEFT_JS))


def choose_language(page: Any, code: str) -> None:
    with page.expect_navigation():
        page.select_option("#lang-select", code)
    page.wait_for_load_state("domcontentloaded")


def add_central_account(server: Any) -> None:
    """A central-office account, created by the admin through the API (city-wide)."""
    password = "central-" + "x" * 12
    resp = server.session("admin").post(server.api("/admin/staff"), timeout=10, json={
        "username": "central", "role": "central", "password": password})
    assert resp.status_code == 201, resp.text
    server.passwords["central"] = password


def test_console_in_english_every_string_and_the_actions(backoffice: Any, browser: Any,
                                                         shots: Shots) -> None:
    server = backoffice
    errors: list[str] = []
    first = issue(server, procedure="juminhyo", application=application_for("juminhyo"),
                  language="vi")
    issue(server, "moving")
    ctx = browser.new_context(viewport=CONSOLE)
    page = watch_errors(ctx.new_page(), errors)

    page.goto(f"{server.url}/console")
    assert page.text_content("#login-submit") == "ログイン"  # Japanese by default
    choose_language(page, "en")
    assert page.text_content("#login-submit") == "Sign in"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert {c["name"]: c["value"] for c in ctx.cookies()}["staff_lang"] == "en"
    page.fill("#login-user", "staff")
    page.fill("#login-pass", "wrong-password")
    page.click("#login-submit")
    wait_js(page, "document.getElementById('login-error').textContent.length > 0")
    assert page.text_content("#login-error") == "Wrong user name or password."
    assert not japanese_left(page), japanese_left(page)

    login(page, server, "staff")
    page.wait_for_selector("#counter-view:not([hidden])")
    page.wait_for_selector("#counter-select option[value='1']", state="attached")
    assert not japanese_left(page), japanese_left(page)
    choose_counter(page, 1)
    assert page.text_content("#title") == "Counter 1"

    page.keyboard.press("n")
    wait_current(page, first["number"])
    wait_js(page, "document.querySelector('#app-table') !== null")
    wait_js(page, "document.getElementById('current-summary').textContent.includes('Fee')")
    assert page.text_content("#current-status") == "called"
    assert page.text_content("#toast") == f"{first['number']} called"
    summary = page.text_content("#current-summary")
    assert "Language: Tiếng Việt" in summary and "Fee ¥" in summary
    app_text = page.text_content("#app-data")
    assert "Applicant (the person at the counter)" in app_text and "Name" in app_text
    assert "山田 花子" in app_text  # the resident's own data stays as given
    left = japanese_left(page)
    assert not left, left
    shots.take(page, "console-en", docs=True)

    page.keyboard.press("s")
    wait_js(page, "document.getElementById('current-status').textContent === 'serving'")
    page.click("[data-action='complete']")
    wait_js(page, "t => document.getElementById('toast').textContent === t",
            arg=f"{first['number']} completed")
    page.wait_for_selector("[data-action='call_next']:not([disabled])")
    page.keyboard.press("n")  # counter 1 does not serve "moving": nobody left for it
    wait_js(page, "document.getElementById('toast').textContent === 'Nobody is waiting.'")
    page.keyboard.press("c")  # not allowed now: says so, in English
    wait_js(page, "document.getElementById('toast').textContent.includes('not possible')")
    assert not japanese_left(page), japanese_left(page)
    assert_contrast(page, 4.5, 3.0, "console (en)")

    # The choice is remembered: a new page is English, and switching back works.
    page.goto(f"{server.url}/console")
    page.wait_for_selector("#work-view:not([hidden])")
    assert page.text_content("[data-action='call_next']").startswith("Call next")
    choose_language(page, "ja")
    page.wait_for_selector("#work-view:not([hidden])")
    assert page.text_content("[data-action='call_next']").startswith("次を呼ぶ")
    assert not errors, errors
    ctx.close()


def test_supervisor_page_in_korean(backoffice: Any, browser: Any) -> None:
    server = backoffice
    issue(server)
    ctx = browser.new_context(viewport=CONSOLE)
    page = ctx.new_page()
    page.goto(f"{server.url}/web/language?lang=ko&next=/supervisor")
    page.wait_for_selector("#login-view:not([hidden])")
    assert page.text_content("#login-submit") == "로그인"
    page.fill("#login-user", "supervisor")
    page.fill("#login-pass", server.passwords["supervisor"])
    page.click("#login-submit")
    page.wait_for_url(lambda url: urlsplit(url).path == "/supervisor")
    page.wait_for_selector("body[data-rendered]")
    assert page.text_content("#svc-h") == "업무별 대기 현황"
    assert not japanese_left(page), japanese_left(page)


def test_central_office_view(backoffice: Any, browser: Any, shots: Shots) -> None:
    server = backoffice
    add_central_account(server)
    staff = server.session("staff")
    tickets = [issue(server) for _ in range(3)] + [issue(server, "moving")]
    api = server.api
    called = staff.post(api("/wards/kita/counters/1/call-next"), json={}, timeout=10).json()
    for action in ("start", "complete"):
        assert staff.post(api(f"/tickets/{called['id']}/{action}"), json={"counter": 1},
                          timeout=10).status_code == 200
    staff.post(api("/wards/kita/counters/1/call-next"), json={}, timeout=10)

    # Roles: central sees every ward's figures and nothing else.
    central = server.session("central")
    assert central.get(api("/central/now"), timeout=10).status_code == 200
    for path in ("/wards/kita/queue", f"/tickets/{tickets[1]['id']}", "/overview"):
        assert central.get(api(path), timeout=10).status_code == 403, path
    assert central.post(api("/wards/kita/counters/2/call-next"), json={},
                        timeout=10).status_code == 403
    assert staff.get(api("/central/now"), timeout=10).status_code == 403
    assert server.session("supervisor").get(api("/central/period"), timeout=10) \
        .status_code == 403
    assert requests.get(api("/central/now"), timeout=10).status_code == 401
    assert server.session("admin").get(api("/central/now"), timeout=10).status_code == 200
    now = central.get(api("/central/now"), timeout=10).json()
    kita = next(w for w in now["wards"] if w["ward"] == "kita")
    assert (kita["waiting"], kita["at_counters"], kita["counters_open"]) == (2, 1, 1)
    assert "application" not in str(now) and tickets[0]["number"] not in str(now)

    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = watch_errors(ctx.new_page(), errors)
    page.goto(f"{server.url}/central")  # not signed in → login, then back here
    page.wait_for_selector("#login-view:not([hidden])")
    login(page, server, "central")
    page.wait_for_url(lambda url: urlsplit(url).path == "/central")
    page.wait_for_selector("body[data-rendered]")
    row = page.locator("#now-wards tr[data-ward='kita']")
    assert row.locator(".waiting").text_content() == "2 人"
    assert page.locator("#now-wards tr[data-ward='naka'] .waiting").text_content() == "0 人"
    wards_table = page.locator("table.central-wards").text_content()
    assert "北区役所" in wards_table and "中区役所" in wards_table
    kita_row = page.locator("table.central-wards tbody tr").first.locator("td")
    assert kita_row.nth(0).text_content() == "4"   # issued today in kita
    assert kita_row.nth(1).text_content() == "1"   # served
    assert page.locator("svg.chart rect.bar").count() >= 1
    assert_contrast(page, 4.5, 3.0, "central")
    shots.take(page, "central", docs=True)

    with page.expect_download() as info:
        page.click("#csv-link")
    data = open(info.value.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["期間開始", "期間終了", "区役所コード", "区役所"]
    kita_total = next(r for r in rows if r[2] == "kita" and r[4] == "区役所計")
    assert kita_total[7:9] == ["4", "1"]
    assert not any(t["number"] in data.decode("utf-8-sig") for t in tickets)

    page.goto(f"{server.url}/console")  # signed in already: the console sends it back
    page.wait_for_url(lambda url: urlsplit(url).path == "/central")
    page.wait_for_selector("body[data-rendered]")
    # the browser logs the console's /auth/me answer (403: not counter staff) as an error
    errors[:] = [e for e in errors if "/console: " not in e or "403" not in e]
    choose_language(page, "en")
    page.wait_for_selector("body[data-rendered]")
    assert page.text_content("#now-h") == "Waiting now"
    left = japanese_left(page)
    assert not left, left
    shots.take(page, "central-en")

    page.fill("#period-from", "2026-12-02")
    page.fill("#period-to", "2026-12-01")
    page.click("#period-submit")
    page.wait_for_selector("body[data-rendered]")
    assert "valid period" in page.text_content("#period-error")
    assert not errors, errors

    # A supervisor is refused the page (in their language), a staff member too.
    sv = ctx.browser.new_context().new_page()
    sv.goto(f"{server.url}/console")
    login(sv, server, "supervisor", "?next=/central")
    sv.wait_for_url(lambda url: urlsplit(url).path == "/central")
    assert "権限がありません" in sv.text_content("h1")
    ctx.close()


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_central_csv_and_json_agree(db: str, backoffice_factory: Any) -> None:
    server = backoffice_factory.start(None if db == "sqlite" else "postgres")
    add_central_account(server)
    for _ in range(2):
        issue(server)
    issue(server, "insurance", procedure="jidoteate")
    central = server.session("central")
    fig = central.get(server.api("/central/period"), timeout=10).json()
    kita = next(w for w in fig["wards"] if w["ward"] == "kita")
    assert kita["issued"] == 3
    assert next(p for p in kita["procedures"] if p["procedure"] == "jidoteate")["issued"] == 1
    resp = central.get(server.api(f"/central/period.csv?from={fig['from']}&to={fig['to']}"),
                       cookies={"staff_lang": "en"}, timeout=10)
    assert resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    assert resp.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    total = next(r for r in rows if r["ward code"] == "kita" and r["Type"] == "ward total")
    assert (total["Issued"], total["period from"]) == ("3", fig["from"])
    assert central.get(server.api("/central/period?from=2026-01-02&to=2026-01-01"),
                       timeout=10).status_code == 422
    assert central.get(server.api("/central/period?from=yesterday"),
                       timeout=10).status_code == 422
