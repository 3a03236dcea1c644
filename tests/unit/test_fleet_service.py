"""The headless kiosk service (`python -m kiosk.service --standin --kiosk-config …`, what
the image's boot test runs) with the stand-in updater against a real back-office: it
takes a published 2.0, "reboots" into it and reports it; a 3.0 that never gets ready
rolls back to 2.0, reported as rolled-back (issue #20, kiosk fleet)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.backoffice.conftest import ok
from tests.support.backoffice import REPO, write_toml
from tests.support.fleet import backoffice_section, fleet_config, publish


def kiosk_update(server: Any) -> dict[str, Any]:
    view = ok(server.session("supervisor").get(server.api("/devices/health?ward=kita"),
                                               timeout=30))
    row = next(d for d in view["devices"] if d["name"] == "kiosk-kita-1")
    return {"version": row["version"], "problems": row["problems"], **(row["update"] or {})}


def wait_for(server: Any, want: dict[str, Any], seconds: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        seen = kiosk_update(server)
        if all(seen.get(k) == v for k, v in want.items()):
            return seen
        time.sleep(0.3)
    raise AssertionError(f"wanted {want}, last seen {seen}")


def test_the_service_updates_and_rolls_back(backoffice_factory: Any, tmp_path: Path) -> None:
    bundles = tmp_path / "bundles"
    server = backoffice_factory.start(config=fleet_config(bundles))
    data = tmp_path / "data"
    data.mkdir()
    toml = tmp_path / "kiosk.toml"
    write_toml({"backoffice": backoffice_section(server, tmp_path),
                "fleet": {"updater": "standin", "check_seconds": 1.0,
                          "standin_version": "1.0"}}, toml)
    publish(server, bundles, "2.0", padding=500_000)
    service = subprocess.Popen(
        [sys.executable, "-m", "kiosk.service", "--standin", "--data-dir", str(data),
         "--kiosk-config", str(toml), "--health-every", "1", "--max-seconds", "90"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        seen = wait_for(server, {"state": "up-to-date", "version": "2.0"})
        assert seen["slot"] == "B" and seen["problems"] == []
        publish(server, bundles, "3.0", boots=False)
        seen = wait_for(server, {"state": "rolled-back"})
        assert seen["version"] == "2.0" and seen["rolled_back"] == "3.0"
        assert "update:rolled_back" in seen["problems"]
    finally:
        service.terminate()
        _, err = service.communicate(timeout=20)
    assert service.returncode == 0, err[-2000:]
