"""The counter console in headless Chromium: an application read with 照合番号B from a card
the kiosk could not verify shows the card check, flagged, in the clerk's language."""

from __future__ import annotations

from typing import Any

import pytest

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
from tests.web.test_staff_pages_browser import choose_language

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_console_flags_an_unverified_card(backoffice: Any, browser: Any, shots: Shots,
                                          lang: str) -> None:
    server = backoffice
    errors: list[str] = []
    application = {**application_for("juminhyo"), "card_key": "code_b",
                   "authenticity": "not_verifiable"}
    ticket = issue(server, procedure="juminhyo", application=application)
    ctx = browser.new_context(viewport=CONSOLE)
    page = watch_errors(ctx.new_page(), errors)
    page.goto(f"{server.url}/console")
    if lang != "ja":
        choose_language(page, lang)   # remembered: the application view follows it
    login(page, server, "staff")
    choose_counter(page, 1)
    page.keyboard.press("n")
    wait_current(page, ticket["number"])
    wait_js(page, "document.querySelector('#app-table td.error-msg') !== null")
    flagged = page.eval_on_selector_all("#app-table td.error-msg",
                                        "els => els.map(e => e.textContent)")
    table = page.text_content("#app-table") or ""
    if lang == "ja":
        assert flagged == ["⚠ 要確認 — 電子署名を確認できませんでした。"
                           "カードの原本を確認してください"]
        assert "カードの確認" in table and "照合番号B" in table
    else:
        assert flagged == ["⚠ CHECK — the signature could not be verified. "
                           "Look at the card itself"]
        assert "Card check" in table and "check number B" in table
    assert_contrast(page, 4.5, 3.0, f"console card check ({lang})")
    page.eval_on_selector("#app-table td.error-msg", "e => e.scrollIntoView({block: 'center'})")
    shots.take(page, f"console-card-check-{lang}", docs=lang == "ja")
    assert not errors, errors
