"""The purge in the real server process (its own clock, its own periodic task), on SQLite
and on PostgreSQL with two worker processes, and the counter console in Chromium showing a
purged application as "削除済み" instead of failing or looking empty."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.backoffice.conftest import issue, ok

CHROMIUM = "/usr/bin/chromium"
RESIDENT = {"procedure": "juminhyo", "identity": "card",
            "values": {"name": "画面確認\u3000花子", "address": "堺市北区画面町1-2",
                       "birth_date": "1944-04-04", "copies": 1, "purpose": "本人確認"}}
# Purged as soon as a ticket is finished; the server looks every second.
CONFIG = {"retention": {"finished_grace": 0, "check_seconds": 1}}


def _purpose(server: Any) -> dict[str, Any]:
    """RESIDENT with the catalog's first purpose choice (the catalog decides the words)."""
    cat = server.session("staff").get(server.api("/catalog"), timeout=10).json()
    fields = next(p for p in cat["procedures"] if p["code"] == "juminhyo")["fields"]
    choice = next(f for f in fields if f["key"] == "purpose")["choices"][0]
    return {**RESIDENT, "values": {**RESIDENT["values"], "purpose": choice}}


def _no_show_purged_then_recalled(server: Any) -> int:
    staff = server.session("staff")
    ticket = ok(issue(server, procedure="juminhyo", application=_purpose(server)), 201)
    tid = ticket["id"]
    ok(staff.post(server.api(f"/tickets/{tid}/call"), json={"counter": 1}, timeout=10))
    ok(staff.post(server.api(f"/tickets/{tid}/no-show"), json={}, timeout=10))
    deadline = time.monotonic() + 30
    while True:
        view = ok(staff.get(server.api(f"/tickets/{tid}"), timeout=10))
        if view["application_purged"] is not None:
            break
        assert time.monotonic() < deadline, "the server did not purge by itself"
        time.sleep(0.2)
    assert view["application"] is None and view["application_purged"]["reason"] == "finished"
    events = ok(staff.get(server.api(f"/tickets/{tid}/events"), timeout=10))
    assert [e["type"] for e in events].count("ticket.application_purged") == 1
    # The resident comes back after all: recalled to the counter, without the data.
    ok(staff.post(server.api(f"/tickets/{tid}/recall"), json={"counter": 1}, timeout=10))
    pdf = staff.get(server.api(f"/tickets/{tid}/form.pdf"), timeout=10)
    assert pdf.status_code == 410 and pdf.json()["error"] == "application_purged"
    return int(tid)


@pytest.mark.postgres
def test_two_server_processes_purge_each_ticket_once(backoffice_factory):
    server = backoffice_factory.start("postgres", workers=2, config=CONFIG)
    _no_show_purged_then_recalled(server)


def test_console_says_purged(backoffice_factory, tmp_path: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    server = backoffice_factory.start(config=CONFIG)
    tid = _no_show_purged_then_recalled(server)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{server.url}/console")
            page.fill("#login-user", "staff")
            page.fill("#login-pass", server.passwords["staff"])
            page.click("#login-submit")
            page.wait_for_selector("#counter-view:not([hidden])")
            page.wait_for_selector("#counter-select option[value='1']", state="attached")
            page.select_option("#counter-select", "1")
            page.click("#counter-submit")
            page.wait_for_selector("#app-table", timeout=15_000)
            shown = page.text_content("#app-data") or ""
            page.screenshot(path=str(tmp_path / "console-purged.png"))
        finally:
            browser.close()
    assert "削除済み" in shown and "保存期間" in shown, shown
    assert "画面確認" not in shown
    assert page is not None and tid > 0
