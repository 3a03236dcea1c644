"""The catalog page (/admin/catalog, issue #20) in headless Chromium against a real
back-office: a city-wide admin adds and renames a counter, changes a fee, the hours and
the closed days — each served at once by the API, and in the page's change record; a bad
value is refused with the validation's own reason; a ward's admin sees its ward only and
not the city-wide parts; a supervisor is refused the page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from tests.backoffice.accounts import create_account
from tests.web.conftest import Shots
from tests.web.test_admin_browser import open_admin, refused_to_a_supervisor
from tests.web.test_pages_browser import watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_catalog(page: Any, server: Any, who: str) -> None:
    open_admin(page, server, who)
    page.click("a[href='/admin/catalog']")
    page.wait_for_selector("body.catalog[data-rendered]")


@contextmanager
def catalog_page(browser: Any, server: Any, refusals: tuple[str, ...] = ("422",)
                 ) -> Iterator[Any]:
    """The catalog page of the city-wide admin (confirmations accepted); at the end the
    browser logged no error but the server's refusals (`refusals`: their statuses) the
    test provoked."""
    context = browser.new_context(locale="ja-JP")
    errors: list[str] = []
    try:
        page = watch_errors(context.new_page(), errors)
        page.on("dialog", lambda d: d.accept())
        open_catalog(page, server, "admin")
        yield page
        assert all(any(code in e for code in refusals) for e in errors), "\n".join(errors)
    finally:
        context.close()


def saved(page: Any, before: str) -> None:
    """Wait for the page to show a new version after a change."""
    page.wait_for_function("b => document.body.dataset.rendered !== b "
                           "&& document.getElementById('cat-saved').textContent !== ''",
                           arg=before)


def rendered(page: Any) -> str:
    return str(page.evaluate("document.body.dataset.rendered"))


def click_saved(page: Any, selector: str) -> None:
    """Click a save button and wait for the page to show the new version."""
    before = rendered(page)
    page.click(selector)
    saved(page, before)


def catalog(server: Any) -> Any:
    return requests.get(server.api("/catalog"), timeout=10).json()


def test_an_admin_changes_counters_fees_hours_and_days(backoffice: Any, browser: Any,
                                                      shots: Shots) -> None:
    server = backoffice
    context = browser.new_context(locale="ja-JP")
    errors: list[str] = []
    try:
        page = watch_errors(context.new_page(), errors)
        open_catalog(page, server, "admin")
        page.select_option("#cat-ward", "kita")

        # a new counter serving certificates: in the catalog the kiosks and counters get
        page.fill("#counter-number", "61")
        page.fill("#counter-name", "臨時窓口")
        page.check("#counter-services input[value='certificates']")
        click_saved(page, "#counter-add")
        kita = next(w for w in catalog(server)["wards"] if w["code"] == "kita")
        assert {"number": 61, "name": "臨時窓口", "services": ["certificates"]} \
            in kita["counters"]
        row = "#counter-table tr[data-counter='61']"
        page.fill(f"{row} input[aria-label]", "61番窓口")
        click_saved(page, f"{row} button:text('保存')")
        kita = next(w for w in catalog(server)["wards"] if w["code"] == "kita")
        assert any(c["number"] == 61 and c["name"] == "61番窓口" for c in kita["counters"])
        page.click(f"{row} button:text('窓口を開く')")
        page.wait_for_selector("#cat-saved:text('窓口 61 を開きました')")

        # the services the ward offers: one its counters serve cannot be dropped
        page.uncheck("#offered-services input[value='certificates']")
        page.click("#offered-save")
        page.wait_for_selector("#cat-error:not(:empty)")
        assert "not offered by this ward" in page.inner_text("#cat-error")
        page.check("#offered-services input[value='certificates']")

        # a fee: the public catalog serves it at once
        prow = "#procedure-table tr[data-procedure='juminhyo']"
        page.fill(f"{prow} input[type=number]", "350")
        click_saved(page, f"{prow} button:text('保存')")
        fee = next(p["fee_yen"] for p in catalog(server)["procedures"]
                   if p["code"] == "juminhyo")
        assert fee == 350

        # hours refused with the file validation's reason, then saved
        page.fill("#hours-opens", "17:00")
        page.fill("#hours-closes", "09:00")
        page.click("#hours-save")
        page.wait_for_selector("#cat-error:not(:empty)")
        assert "later than opens" in page.inner_text("#cat-error")
        page.fill("#hours-opens", "08:30")
        page.fill("#hours-closes", "19:00")
        page.uncheck("#hours-weekdays input[value='4']")
        click_saved(page, "#hours-save")
        hours = next(w for w in requests.get(server.api("/wards"), timeout=10).json()
                     if w["code"] == "kita")
        assert (hours["opens"], hours["closes"], hours["weekdays"]) == \
            ("08:30", "19:00", [0, 1, 2, 3])

        # closed days: a bad date is refused, good ones kept
        page.fill("#days-closed", "2027-13-01")
        page.click("#days-save")
        page.wait_for_selector("#cat-error:not(:empty)")
        page.fill("#days-closed", "2027-03-31")
        page.fill("#days-open", "2027-03-28")
        click_saved(page, "#days-save")
        assert page.input_value("#days-closed") == "2027-03-31"

        record = page.inner_text("#version-table")
        for word in ("fee_yen: 300 → 350", "counters.61", "closes", "calendar.closed"):
            assert word in record, record
        shots.take(page, "admin-catalog-page")
        assert errors == [] or all("422" in e for e in errors), errors
    finally:
        context.close()


def test_a_ward_admin_sees_its_ward_and_a_supervisor_is_refused(backoffice: Any,
                                                                 browser: Any) -> None:
    server = backoffice
    server.passwords["admin-naka"] = create_account(server, "admin-naka", "admin", "naka")
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        open_catalog(page, server, "admin-naka")
        wards = page.eval_on_selector_all("#cat-ward option", "os => os.map(o => o.value)")
        assert wards == ["naka"]
        assert not page.is_visible("#procedure-table") and page.is_visible("#city-note")
        page.fill("#counter-number", "62")
        page.fill("#counter-name", "62")
        click_saved(page, "#counter-add")
        naka = next(w for w in catalog(server)["wards"] if w["code"] == "naka")
        assert any(c["number"] == 62 for c in naka["counters"])
        # its roll-back: its ward's parts only, after a confirmation
        page.on("dialog", lambda d: d.accept())
        first = admin_catalog(server)["version"] - 1
        click_saved(page, f"#version-table tr:has(td:text-is('{first}')) button")
        naka = next(w for w in catalog(server)["wards"] if w["code"] == "naka")
        assert not any(c["number"] == 62 for c in naka["counters"])
        assert f"rolled back to {first} (naka)" in page.inner_text("#version-table")
    finally:
        context.close()
    refused_to_a_supervisor(browser, server, "/admin/catalog")


def admin_catalog(server: Any) -> Any:
    return server.session("admin").get(server.api("/admin/catalog"), timeout=10).json()


def procedure(server: Any, code: str) -> Any:
    return next(p for p in admin_catalog(server)["catalog"]["procedures"] if p["code"] == code)


def life_event(server: Any, code: str) -> Any:
    return next((e for e in admin_catalog(server)["life_events"]["events"]
                 if e["code"] == code), None)


def test_an_admin_edits_forms_life_events_and_rolls_back(backoffice: Any, browser: Any,
                                                         shots: Shots) -> None:
    server = backoffice
    first = admin_catalog(server)["version"]
    with catalog_page(browser, server) as page:
        # a procedure: description, a new form field, a fee exemption
        page.select_option("#proc-choose", "juminhyo")
        page.fill("#proc-editor textarea[maxlength='400']", "本人確認書類をお持ちください。")
        n = len(procedure(server, "juminhyo")["fields"])
        page.click("#proc-editor button:text('項目を追加')")
        row = f"#field-table tr[data-key='fields[{n}]']"
        page.fill(f"{row} input[data-part=key]", "note")
        page.fill(f"{row} input[data-part=label]", "備考")
        page.select_option(f"{row} select[data-part=kind]", "choice")   # … without choices
        page.click("#proc-save")
        spot = f"td[data-key='fields[{n}].choices'] .field-error"
        page.wait_for_selector(f"{spot}:not(:empty)")
        assert "needs choices" in page.inner_text(spot)
        assert page.input_value(f"{row} input[data-part=key]") == "note"   # nothing lost
        page.fill(f"{row} textarea[data-part=choices]", "とくになし\n郵送希望")
        page.check("#proc-exempt input >> nth=0")
        click_saved(page, "#proc-save")
        p = procedure(server, "juminhyo")
        assert p["description"] == "本人確認書類をお持ちください。"
        assert p["fields"][n] == {"key": "note", "label": "備考", "kind": "choice",
                                  "source": "resident", "required": True,
                                  "choices": ["とくになし", "郵送希望"]}
        assert p["fee_exempt_purposes"]
        # the new field moved up one place, then saved: the form's order follows
        row = f"#field-table tr[data-key='fields[{n}]']"
        page.click(f"{row} button:text('↑')")
        click_saved(page, "#proc-save")
        assert procedure(server, "juminhyo")["fields"][n - 1]["key"] == "note"

        # a life event: its procedures reordered, one removed, one added, renamed
        page.select_option("#event-choose", "tennyu")
        before = [i.get("procedure") for i in life_event(server, "tennyu")["items"]]
        page.click("#event-items li[data-key='items[1]'] button:text('↑')")
        page.click("#event-items li:last-child button:text('削除')")
        page.select_option("#event-add-procedure", "juminhyo")
        page.click("#event-editor button:text('手続きを追加')")
        page.fill("#event-editor label[data-key=name] input", "転入(引っ越してきた)")
        click_saved(page, "#event-save")
        event = life_event(server, "tennyu")
        assert [i.get("procedure") for i in event["items"]] == \
            [before[1], before[0], *before[2:-1], "juminhyo"]
        assert event["name"] == "転入(引っ越してきた)" and event["questions"]
        # a new one: refused with the validation's reason next to the field, then made
        page.select_option("#event-choose", "")
        page.fill("#event-editor label[data-key=code] input", "kekkon")
        page.fill("#event-editor label[data-key=name] input", "結婚")
        page.click("#event-save")
        page.wait_for_selector("#event-editor .field-error:not(:empty)")
        page.select_option("#event-add-procedure", "juminhyo")
        page.click("#event-editor button:text('手続きを追加')")
        click_saved(page, "#event-save")
        assert life_event(server, "kekkon") is not None
        page.select_option("#event-choose", "kekkon")
        click_saved(page, "#event-editor button:text('このライフイベントを削除')")
        assert life_event(server, "kekkon") is None
        shots.take(page, "admin-catalog-editors")

        # roll back to the first version: confirmed, a new version, all of it back
        click_saved(page, f"#version-table tr:has(td:text-is('{first}')) button")
        assert "rolled back to" in page.inner_text("#version-table")
        assert "note" not in [f["key"] for f in procedure(server, "juminhyo")["fields"]]
        assert [i.get("procedure") for i in life_event(server, "tennyu")["items"]] == before
