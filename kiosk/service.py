"""`python -m kiosk.service --standin`: the headless stand-in of the kiosk service.

It stands in for the Kivy app where a screen is not wanted (the image's qemu boot test, a
first check of a new device): it loads the configuration the app would load, reports the
device's health (provisioning, clock, card reader via pcscd, printer, data partition) to
systemd and to `health.json`, and feeds the systemd watchdog from its main loop exactly as
the app does. It serves no resident.

The kiosk unit runs `python -m $KIOSK_APP_MODULE $KIOSK_APP_ARGS` (see docs/image.md); the
boot test sets them to `kiosk.service --standin`.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from kiosk import logsetup, watchdog
from kiosk.configfile import CONFIG_DIR, REPO_ROOT, load_catalog

log = logging.getLogger(__name__)

DATA_DIR = Path(os.environ.get("KIOSK_DATA_DIR", "/var/lib/ward-kiosk"))
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
TIME_SYNCED = Path("/run/systemd/timesync/synchronized")
PRINTER_LINK = Path("/dev/kiosk-printer")  # made by hardware/image udev rules


def image_version() -> str:
    """The image build's VERSION file, or "development" outside an image."""
    for candidate in (REPO_ROOT.parent / "VERSION", REPO_ROOT / "VERSION"):
        if candidate.exists():
            return candidate.read_text().strip()
    return "development"


def _readers() -> dict[str, Any]:
    if not PCSCD_SOCKET.exists() and not Path("/run/pcscd").exists():
        return {"ok": False, "problem": "pcscd is not running"}
    try:
        from smartcard.System import readers  # pyscard: talks to pcscd

        names = [str(r) for r in readers()]
    except Exception as exc:  # noqa: BLE001 — any PC/SC failure is a health finding
        return {"ok": False, "problem": f"pcscd: {exc}"}
    return {"ok": True, "readers": names}


def collect_health(data_dir: Path, *, standin: bool) -> dict[str, Any]:
    """The device's health as a maintainer reads it (no personal data)."""
    state = data_dir / "provisioned"
    applied = state / "applied.json"
    error = state / "last-error.txt"
    provisioning: dict[str, Any] = {"ok": applied.exists() and not error.exists()}
    if applied.exists():
        info = json.loads(applied.read_text())
        provisioning.update(kiosk=info.get("kiosk", {}).get("kiosk_id"),
                            ward=info.get("kiosk", {}).get("ward"),
                            applied_at=info.get("applied_at"))
    if error.exists():
        provisioning["error"] = error.read_text().strip()
    catalog: dict[str, Any]
    try:
        cat = load_catalog()
        catalog = {"ok": True, "wards": len(cat.wards), "procedures": len(cat.procedures)}
    except Exception as exc:  # noqa: BLE001 — reported, not fatal, for the stand-in
        catalog = {"ok": False, "problem": str(exc)}
    disk: dict[str, Any] = {"ok": False, "problem": f"{data_dir} missing"}
    if data_dir.exists():
        usage = shutil.disk_usage(data_dir)
        disk = {"ok": usage.free > 16 * 2**20, "free_mib": usage.free // 2**20,
                "total_mib": usage.total // 2**20}
    printer: dict[str, Any] = {"ok": True, "kind": "standin"} if standin else {
        "ok": PRINTER_LINK.exists(), "device": str(PRINTER_LINK)}
    return {
        "version": image_version(),
        "mode": "standin" if standin else "app",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "clock_synchronised": TIME_SYNCED.exists(),
        "config_dir": str(CONFIG_DIR),
        "provisioning": provisioning,
        "catalog": catalog,
        "card_reader": _readers(),
        "printer": printer,
        "data_partition": disk,
    }


def status_line(health: dict[str, Any]) -> str:
    problems = [name for name, part in health.items()
                if isinstance(part, dict) and not part.get("ok", True)]
    who = health["provisioning"].get("kiosk") or "unprovisioned"
    return (f"{'ready' if not problems else 'degraded'} ({health['mode']}): kiosk {who}; "
            + ("all devices ok" if not problems else "problems: " + ", ".join(problems)))


def write_health(path: Path, health: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(health, ensure_ascii=False, indent=1) + "\n")
    os.replace(tmp, path)


class FleetReporter:
    """The stand-in service's update agent (kiosk/fleet/agent.py), when `--kiosk-config`
    names a kiosk.toml with `[backoffice]` and `[fleet] updater`: the stand-in serves no
    resident, so it is always idle; its update state goes into health.json and to the
    back-office in a heartbeat (the app sends it through its sync link instead)."""

    def __init__(self, config: Path, data_dir: Path) -> None:
        import tomllib

        from kiosk.domain.section import Section
        from kiosk.fleet.agent import FleetSettings, UpdateAgent, open_updater
        from kiosk.sync.client import BackofficeClient
        from kiosk.sync.settings import parse_backoffice

        data = tomllib.loads(config.read_text(encoding="utf-8"))
        root = Section(data, str(config))
        self.client = BackofficeClient(parse_backoffice(root.section("backoffice"),
                                                        config.parent))
        settings = FleetSettings.from_section(root.section("fleet", {}), data_dir)
        updater = open_updater(settings, str(config))
        self.update: dict[str, Any] = {}
        self.agent = None if updater is None else UpdateAgent(
            updater, self.client, settings, idle=lambda: True, report=self.report)

    def report(self, update: dict[str, Any]) -> None:
        self.update = update
        self.heartbeat()

    def heartbeat(self, health: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"status": "ok", "version": (self.update.get("version")
                                                            or image_version())[:64]}
        if health is not None and status_line(health).startswith("degraded"):
            body["status"] = "degraded"
        if self.update:
            body["update"] = self.update
        try:
            self.client.post("/api/v1/device/heartbeat", body, attempts=1)
        except Exception as exc:  # noqa: BLE001 — offline: the next heartbeat says it
            log.warning("heartbeat not sent: %s", exc)


def run_standin(data_dir: Path, health_every: float, max_seconds: float | None,
                fleet: FleetReporter | None = None) -> int:
    stop = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    health = collect_health(data_dir, standin=True)
    health_file = data_dir / "health.json"
    if fleet is not None and fleet.agent is not None:
        fleet.agent.start()
    if data_dir.is_dir() and os.access(data_dir, os.W_OK):
        write_health(health_file, health)
    log.info("kiosk stand-in service: %s", status_line(health))
    watchdog.ready(status_line(health))
    interval = watchdog.ping_interval() or 5.0
    started = last_health = time.monotonic()
    # The main loop: the only place that feeds the watchdog, as the app's Clock does.
    while not stop:
        watchdog.ping()
        now = time.monotonic()
        if max_seconds is not None and now - started >= max_seconds:
            break
        if now - last_health >= health_every:
            health = collect_health(data_dir, standin=True)
            if fleet is not None:
                health["update"] = fleet.update
                fleet.heartbeat(health)
            if data_dir.is_dir() and os.access(data_dir, os.W_OK):
                write_health(health_file, health)
            watchdog.status(status_line(health))
            last_health = now
        time.sleep(min(interval, 1.0))
    watchdog.stopping()
    if fleet is not None and fleet.agent is not None:
        fleet.agent.stop()
    log.info("kiosk stand-in service: stopping")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kiosk.service", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--standin", action="store_true",
                    help="headless stand-in (the only mode: the resident app is `python -m kiosk`)")
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--health-every", type=float, default=30.0, help="seconds")
    ap.add_argument("--max-seconds", type=float, help="stop after this long (tests)")
    ap.add_argument("--health", action="store_true", help="print the health report and exit")
    ap.add_argument("--kiosk-config", type=Path,
                    help="a kiosk.toml: with [backoffice] and [fleet] updater, run the update "
                         "agent and send heartbeats (docs/operations.md, Fleet updates)")
    args = ap.parse_args(argv)
    logsetup.configure("INFO")   # stderr → the journal, through the redaction filter
    if args.health:
        print(json.dumps(collect_health(args.data_dir, standin=args.standin),
                         ensure_ascii=False, indent=1))
        return 0
    if not args.standin:
        ap.error("only --standin runs here; the resident kiosk app is `python -m kiosk`")
    # A watchdog kill (SIGABRT) leaves the hung stack in the journal for the maintainer.
    faulthandler.enable()
    fleet = FleetReporter(args.kiosk_config, args.data_dir) if args.kiosk_config else None
    return run_standin(args.data_dir, args.health_every, args.max_seconds, fleet)


if __name__ == "__main__":
    sys.exit(main())
