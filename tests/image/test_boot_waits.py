"""The kiosk's boot does not depend on luck (issue #20): a slow data device does not leave
kiosk.service dead by a dependency failure, and a kiosk without NTP still gets ready (a
reboot into a new slot with the network down must not roll a good update back). The unit
settings as systemd reads them, and the two scripts run here with stand-ins for systemctl,
mountpoint and systemd-time-wait-sync."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.image.test_image_recipe import ROOTFS, UNITS, unit

LIB = ROOTFS / "usr/local/lib/kiosk"


def test_the_app_has_no_hard_dependency_on_its_data_partition() -> None:
    """RequiresMountsFor (or Requires/BindsTo) would make a late device a "dependency"
    failure, which Restart=always never retries: the unit would stay dead."""
    u = unit("kiosk.service")
    for key in ("Unit.RequiresMountsFor", "Unit.Requires", "Unit.BindsTo", "Unit.Requisite"):
        assert key not in u, key
    assert r"var-lib-ward\x2dkiosk.mount" in " ".join(u["Unit.After"])
    assert u["Service.ExecStartPre"] == ["+/usr/local/lib/kiosk/app-wait.sh"]
    assert u["Service.Restart"] == ["always"] and u["Unit.StartLimitIntervalSec"] == ["0"]
    # The wait fits in the start timeout, so a slow device is a retried start, not a kill.
    assert int(u["Service.TimeoutStartSec"][0]) > 60 + 60


def test_the_wait_for_ntp_is_bounded_and_shorter_than_the_ready_gate() -> None:
    dropin = (UNITS / "systemd-time-wait-sync.service.d/kiosk.conf").read_text()
    assert "ExecStart=\nExecStart=/usr/local/lib/kiosk/clock-wait.sh" in dropin
    assert "EnvironmentFile=-/etc/kiosk/update.env" in dropin
    assert "After=systemd-timesyncd.service" in dropin   # counted from timesyncd's start
    env = dict(line.split("=", 1) for line in (ROOTFS / "etc/kiosk/update.env").read_text()
               .splitlines() if line and not line.startswith("#"))
    assert 0 < int(env["KIOSK_CLOCK_WAIT"]) <= int(env["KIOSK_READY_TIMEOUT"]) // 3
    # Still ordered after time-sync.target: with NTP the app starts on a synchronised clock.
    u = unit("kiosk.service")
    assert "time-sync.target" in u["Unit.After"][0]


def test_clock_wait_gives_up_after_its_bound_and_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "KIOSK_CLOCK_WAIT": "1"}
    never = tmp_path / "never-synced"
    never.write_text("#!/bin/sh\nexec sleep 30\n")
    never.chmod(0o755)
    t0 = time.monotonic()
    done = subprocess.run([LIB / "clock-wait.sh"], env={**env, "KIOSK_TIME_WAIT_SYNC": str(never)},
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - t0 < 10
    assert "the clock is NOT synchronised after 1 s" in done.stdout
    synced = tmp_path / "synced"
    synced.write_text("#!/bin/sh\nexit 0\n")
    synced.chmod(0o755)
    done = subprocess.run([LIB / "clock-wait.sh"], env={**env, "KIOSK_TIME_WAIT_SYNC": str(synced)},
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0 and "the clock is synchronised" in done.stdout


def fake_tools(tmp_path: Path, mounted: bool, provision_state: str) -> dict[str, str]:
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    log = tmp_path / "systemctl.log"
    (bin_ / "mountpoint").write_text(f"#!/bin/sh\nexit {0 if mounted else 1}\n")
    (bin_ / "systemctl").write_text(
        f'#!/bin/sh\necho "$*" >> {log}\n'
        f'case "$*" in "show -P ActiveState kiosk-provision.service") echo {provision_state} ;;\n'
        f'  "show -P ActiveState kiosk-data.service") echo activating ;; esac\n')
    for tool in bin_.iterdir():
        tool.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}", "KIOSK_DATA_WAIT": "2",
            "KIOSK_CONSOLE": str(tmp_path / "console")}


def test_app_wait_asks_for_the_late_mount_and_fails_the_try(tmp_path: Path) -> None:
    """Not mounted: ask systemd for the mount again (and so kiosk-data.service), then fail
    this try; Restart=always runs the next one."""
    done = subprocess.run([LIB / "app-wait.sh"], env=fake_tools(tmp_path, False, "inactive"),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    calls = (tmp_path / "systemctl.log").read_text()
    assert r"start --no-block var-lib-ward\x2dkiosk.mount" in calls
    assert "start kiosk-provision.service" not in calls
    assert "not mounted after 2 s" in (tmp_path / "console").read_text()


def test_app_wait_runs_provisioning_that_did_not_run_or_failed(tmp_path: Path) -> None:
    """Mounted, but provisioning did not run (the partition came late) or failed (the
    enrolment code could not be traded before the network was up): run it again."""
    for state in ("inactive", "failed"):
        (tmp_path / "systemctl.log").unlink(missing_ok=True)
        done = subprocess.run([LIB / "app-wait.sh"], env=fake_tools(tmp_path, True, state),
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "start kiosk-provision.service" in (tmp_path / "systemctl.log").read_text()
    (tmp_path / "systemctl.log").unlink()
    done = subprocess.run([LIB / "app-wait.sh"], env=fake_tools(tmp_path, True, "active"),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert "start" not in (tmp_path / "systemctl.log").read_text()
