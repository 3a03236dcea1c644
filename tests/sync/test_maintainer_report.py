"""Maintainer-PIN attempts reach the back-office with the kiosk's heartbeat, and a
supervisor sees them in GET /devices (the real server, the real kiosk link)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.sync import KioskLink
from kiosk.ui.maintainer_gate import MAX_WRONG, MaintainerGate, hash_pin
from tests.support.backoffice import BackofficeServer
from tests.sync.faultproxy import wait_until
from tests.sync.helpers import settings


def _kiosk_row(backoffice: BackofficeServer) -> dict[str, Any]:
    rows = backoffice.session("supervisor").get(backoffice.api("/devices"), timeout=5).json()
    return next(r for r in rows if r["kind"] == "kiosk" and r["ward"] == "kita")


def test_attempts_reach_the_supervisor(tmp_path: Path, backoffice: BackofficeServer) -> None:
    link = KioskLink(settings(tmp_path, backoffice.url, token=backoffice.kiosk_token))
    link.start()
    try:
        gate = MaintainerGate(hash_pin("512093"), tmp_path / "lock.json",
                              on_attempt=link.report_maintainer)
        for n in range(MAX_WRONG):
            gate.attempt(f"99999{n}")
        gate.attempt("512093")                      # locked: not even checked

        def reported() -> bool:
            got = (_kiosk_row(backoffice)["heartbeat"] or {}).get("maintainer_unlock")
            return bool(got) and got["locked"] == 1
        assert wait_until(reported, 15)
    finally:
        link.stop()
    got = _kiosk_row(backoffice)["heartbeat"]["maintainer_unlock"]
    assert (got["ok"], got["wrong"], got["locked"], got["last"]) == (0, MAX_WRONG, 1, "locked")
    assert got["locked_until"] and got["last_at"]
    assert "512093" not in backoffice.log_text()
    staff = backoffice.session("staff").get(backoffice.api("/devices"), timeout=5)
    assert staff.status_code == 403


def test_a_malformed_report_is_refused_not_stored(backoffice: BackofficeServer) -> None:
    s = backoffice.session("kiosk")
    for bad in ({"ok": -1}, {"last": "maybe"}, {"pin": "1234"},
                {"last_at": "2026-12-04T10:00:00"}):        # no time zone
        answer = s.post(backoffice.api("/device/heartbeat"), timeout=5,
                        json={"status": "ok", "maintainer_unlock": bad})
        assert answer.status_code == 422, (bad, answer.text)
    assert (_kiosk_row(backoffice)["heartbeat"] or {}).get("maintainer_unlock") is None
