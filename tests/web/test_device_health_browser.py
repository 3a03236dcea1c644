"""Device health end to end (issue #20): the kiosk app's own devices (`make_devices` from a
kiosk.toml: the stand-in printer over TCP, the stand-in card, the sync link to a real
back-office process) and a lobby display page report; the supervisor's device page in
headless Chromium shows the printer running out of paper within seconds, with the alarm,
and the all-clear when paper is loaded again. Bounded waits, not a timing benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.sync.sealing import generate_key
from kiosk.ui.adapters import make_devices
from kiosk.ui.settings import UiConfig
from tests.backoffice.test_device_health import TERMINAL_FINE, enrol_terminal, terminal_beat
from tests.web.conftest import Shots
from tests.web.test_pages_browser import login, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOWN_WITHIN_MS = 15_000   # the kiosk probes every 1 s here, the page polls every 1 s
KIOSK_ROW = "tr[data-device='kiosk-kita-1']"


def kiosk_toml(folder: Path, server: Any, printer: Any) -> Path:
    (folder / "token").write_text(server.kiosk_token + "\n")
    generate_key(folder / "outbox.key")
    path = folder / "kiosk.toml"
    path.write_text(f"""
[backoffice]
url = "{server.url}"
ward = "kita"
device_token_file = "{folder / 'token'}"
insecure_http = true
heartbeat_seconds = 1.0
[store]
path = "{folder / 'kiosk.db'}"
key_file = "{folder / 'outbox.key'}"
[ui]
ward = "kita"
desk = "sync"
[printer]
transport = "network"
host = "{printer.host}"
port = {printer.port}
[card]
backend = "standin"
""", encoding="utf-8")
    return path


def open_devices_page(page: Any, server: Any) -> None:
    """Signed in as the ward's supervisor, on /supervisor/devices."""
    login(page, server, "supervisor")
    page.wait_for_selector("#counter-view:not([hidden])")
    page.goto(f"{server.url}/supervisor/devices")


def state_of(page: Any) -> str:
    return str(page.get_attribute(f"{KIOSK_ROW} .dv-state", "data-problems"))


def test_paper_out_reaches_the_supervisor_page(backoffice: Any, browser: Any,
                                               standin_printer: Any, tmp_path: Path,
                                               shots: Shots) -> None:
    server = backoffice
    devices = make_devices(UiConfig.load(kiosk_toml(tmp_path, server, standin_printer)))
    context = browser.new_context(locale="ja-JP")
    try:
        display = context.new_page()
        display.goto(f"{server.url}/display?ward=kita#token={server.display_token}")
        errors: list[str] = []
        page = watch_errors(context.new_page(), errors)
        open_devices_page(page, server)
        page.click("#dv-sound")                   # sound allowed (a click, as browsers want)
        page.wait_for_selector(f"{KIOSK_ROW}[data-alarm='false']", timeout=SHOWN_WITHIN_MS)
        page.wait_for_selector("tr[data-device='display-kita-1'][data-alarm='false']",
                               timeout=SHOWN_WITHIN_MS)
        chimes = int(page.get_attribute("body", "data-chimes") or 0)

        standin_printer.standin.run_out_of_paper()
        page.wait_for_selector(f"{KIOSK_ROW} .dv-state[data-problems~='printer:paper_out']",
                               timeout=SHOWN_WITHIN_MS)
        assert page.is_visible("#dv-alarm")
        assert "用紙切れ" in page.inner_text(f"{KIOSK_ROW} .dv-state")
        assert int(page.get_attribute("body", "data-chimes") or 0) > chimes
        shots.take(page, "supervisor-devices-paper-out")

        standin_printer.standin.load_paper()
        page.wait_for_selector(f"{KIOSK_ROW}[data-alarm='false']", timeout=SHOWN_WITHIN_MS)
        assert state_of(page) == ""
        assert errors == []
    finally:
        context.close()
        devices.close()


def test_a_payment_terminal_of_its_own_on_the_supervisor_page(backoffice: Any,
                                                               browser: Any) -> None:
    """A terminal enrolled with its own token: its heartbeat (alive, last transaction,
    error codes) shows on the devices page, raising the alarm like the others."""
    server = backoffice
    _, token = enrol_terminal(server)
    row = "tr[data-device='terminal-kita-1']"
    context = browser.new_context(locale="ja-JP")
    try:
        errors: list[str] = []
        page = watch_errors(context.new_page(), errors)
        open_devices_page(page, server)
        page.wait_for_selector(f"{row} .dv-state[data-problems~='never_seen']")
        assert terminal_beat(server, token, TERMINAL_FINE).status_code == 200
        page.wait_for_selector(f"{row}[data-alarm='false']", timeout=SHOWN_WITHIN_MS)
        assert "最終取引 10:05" in page.inner_text(row)
        assert terminal_beat(server, token, {**TERMINAL_FINE, "status": "degraded",
                                             "errors": ["nexo:1005"]}).status_code == 200
        page.wait_for_selector(f"{row}[data-alarm='true']", timeout=SHOWN_WITHIN_MS)
        assert "決済端末のエラー: nexo:1005" in page.inner_text(f"{row} .dv-state")
        assert page.is_visible("#dv-alarm") and errors == []
    finally:
        context.close()
