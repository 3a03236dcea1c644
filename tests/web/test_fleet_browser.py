"""The kiosk fleet end to end (issue #20): a real back-office serving bundles, the kiosk
app's own devices (`make_devices` from a kiosk.toml with `[fleet] updater = "standin"`:
the sync link, the update agent, the stand-in RAUC with two slots) and the supervisor's
device page in headless Chromium. Publish 2.0: the kiosk downloads it during a visit,
waits for the visit to end, installs, reboots into it and reports 2.0; publish a 3.0 that
never reaches "kiosk ready": it rolls back to 2.0 and the page raises the alarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.ui.adapters import make_devices
from kiosk.ui.settings import UiConfig
from tests.support.fleet import fleet_config, publish
from tests.web.conftest import Shots
from tests.web.test_device_health_browser import (
    KIOSK_ROW,
    SHOWN_WITHIN_MS,
    kiosk_toml,
    open_devices_page,
)
from tests.web.test_pages_browser import watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UPDATE = f"{KIOSK_ROW} .dv-update"


def test_publish_update_and_rollback_on_the_supervisor_page(
        backoffice_factory: Any, browser: Any, standin_printer: Any, tmp_path: Path,
        shots: Shots) -> None:
    bundles = tmp_path / "bundles"
    server = backoffice_factory.start(config=fleet_config(bundles))
    toml = kiosk_toml(tmp_path, server, standin_printer)
    with toml.open("a", encoding="utf-8") as f:
        f.write('[fleet]\nupdater = "standin"\ncheck_seconds = 1.0\nstandin_version = "1.0"\n')
    devices = make_devices(UiConfig.load(toml))
    visit = {"under_way": True}
    # what build_app does: install and reboot only between visits
    devices.updates.idle = lambda: not visit["under_way"]
    context = browser.new_context(locale="ja-JP")
    try:
        errors: list[str] = []
        page = watch_errors(context.new_page(), errors)
        open_devices_page(page, server)
        page.wait_for_selector(f"{UPDATE}[data-state='up-to-date']", timeout=SHOWN_WITHIN_MS)
        assert page.inner_text(f"{KIOSK_ROW} td:nth-child(5)") == "1.0"

        publish(server, bundles, "2.0", padding=3_000_000)
        page.wait_for_selector("#dv-release[data-version='2.0']", timeout=SHOWN_WITHIN_MS)
        page.wait_for_selector(f"{UPDATE}[data-state='waiting-idle']", timeout=SHOWN_WITHIN_MS)
        assert "利用中のため待機" in page.inner_text(UPDATE)
        shots.take(page, "supervisor-devices-update-waiting-idle")
        assert devices.updates.updater.reboots == 0      # nothing installed mid-visit

        visit["under_way"] = False                        # the visit ended
        page.wait_for_selector(f"{UPDATE}[data-state='up-to-date']", timeout=SHOWN_WITHIN_MS)
        page.wait_for_selector(f"{KIOSK_ROW} td:nth-child(5):text-is('2.0')",
                               timeout=SHOWN_WITHIN_MS)
        assert devices.updates.updater.status().booted == "B"

        publish(server, bundles, "3.0", boots=False)      # never reaches "kiosk ready"
        page.wait_for_selector(f"{UPDATE}[data-state='rolled-back']", timeout=SHOWN_WITHIN_MS)
        page.wait_for_selector(f"{KIOSK_ROW} .dv-state[data-problems~='update:rolled_back']",
                               timeout=SHOWN_WITHIN_MS)
        assert page.is_visible("#dv-alarm")
        assert "3.0 は起動せず元に戻しました" in page.inner_text(UPDATE)
        assert page.inner_text(f"{KIOSK_ROW} td:nth-child(5)") == "2.0"
        shots.take(page, "supervisor-devices-update-rolled-back")
        assert errors == []
    finally:
        context.close()
        devices.close()


def test_why_an_update_waits_is_shown(backoffice_factory: Any, browser: Any,
                                      tmp_path: Path) -> None:
    """A kiosk waiting on a busy back-office (503 + Retry-After) says so on the page."""
    from tests.backoffice.conftest import ok

    server = backoffice_factory.start(config=fleet_config(tmp_path / "bundles"))
    ok(server.session("kiosk").post(server.api("/device/heartbeat"), timeout=30, json={
        "status": "ok", "update": {"state": "downloading", "version": "1.0", "slot": "A",
                                   "target": "2.0", "progress": 40,
                                   "reason": "server busy: again in 30 s"}}))
    context = browser.new_context(locale="ja-JP")
    try:
        page = context.new_page()
        open_devices_page(page, server)
        page.wait_for_selector(f"{UPDATE}[data-state='downloading']", timeout=SHOWN_WITHIN_MS)
        assert page.inner_text(UPDATE) == \
            "2.0 をダウンロード中 40% （server busy: again in 30 s）"
    finally:
        context.close()
