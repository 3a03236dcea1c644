"""The host's side of `boot-test.sh --fleet-app`: the kiosk app's OWN update agent updates
the image in qemu, driven only through the back-office, as a city's IT team would.

    fleetapp.py prepare --api URL --admin USER --bundle FILE --version V --ward W --device NAME
        signs in as the city-wide admin, issues the kiosk's one-time enrolment code (printed
        on stdout, for provision.toml), registers the bundle (a file in the back-office's
        [fleet] bundle_dir) as release V and sets the ward's target to V.
    fleetapp.py link --qmp SOCK [--down]
    fleetapp.py drive --api URL --supervisor USER --serial LOG --qmp SOCK --device NAME --version V
        watches the serial console and the supervisor's devices endpoint: when the app asks
        for its reboot, cuts the guest's network (QMP set_link) so the new slot boots without
        NTP and back-office; once that boot is blessed, brings the network back and waits until
        the back-office shows the kiosk on V, up to date, on slot B. Prints FLEETTEST lines.

Passwords come from the environment (FLEETAPP_PASSWORD), never the command line.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screentest import Qmp, Serial

T0 = time.monotonic()


def say(line: str) -> None:
    print(f"FLEETTEST {line} [{time.monotonic() - T0:.0f} s]", flush=True)


class Api:
    def __init__(self, url: str, user: str) -> None:
        self.url = url.rstrip("/") + "/api/v1"
        self.http = requests.Session()
        answer = self.http.post(f"{self.url}/auth/login", timeout=30, json={
            "username": user, "password": os.environ["FLEETAPP_PASSWORD"]})
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['token']}"

    def call(self, method: str, path: str, **kw: Any) -> Any:
        answer = self.http.request(method, f"{self.url}{path}", timeout=30, **kw)
        if answer.status_code >= 400:
            raise SystemExit(f"fleetapp.py: {method} {path}: {answer.status_code} "
                             f"{answer.text[:300]}")
        return answer.json()


def prepare(args: argparse.Namespace) -> int:
    api = Api(args.api, args.admin)
    device = next(d for d in api.call("GET", "/devices", params={"ward": args.ward})
                  if d["name"] == args.device)
    code = api.call("POST", f"/admin/devices/{device['id']}/enrolment-code")["code"]
    bundle = Path(args.bundle)
    sha = hashlib.sha256()
    with bundle.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    api.call("POST", "/admin/releases", json={
        "version": args.version, "compatible": args.compatible, "sha256": sha.hexdigest(),
        "size": bundle.stat().st_size, "filename": bundle.name, "notes": "boot-test --fleet-app"})
    api.call("PUT", f"/admin/wards/{args.ward}/release", json={"version": args.version})
    print(code)
    return 0


def kiosk_state(api: Api, ward: str, name: str) -> dict[str, Any]:
    view = api.call("GET", "/devices/health", params={"ward": ward})
    return next((d for d in view["devices"] if d["name"] == name), {})


def set_link(qmp_path: str, *, up: bool, tries: int = 60) -> None:
    """The guest's network on or off, kept across power cycles: boot-test.sh powers the VM
    on again after each reboot and cuts the link of the new qemu while `link-down` (next
    to the QMP socket) exists. The qemu running now gets it over QMP — or, while it is
    being replaced, the next one does (retried until a qemu answers)."""
    flag = Path(qmp_path).parent / "link-down"
    if up:
        flag.unlink(missing_ok=True)
    else:
        flag.touch()
    for _ in range(tries):
        try:
            Qmp(qmp_path).call("set_link", name="n0", up=up)
            return
        except (OSError, ValueError, RuntimeError):
            time.sleep(0.5)  # qemu between two boots: the socket is gone or not answering
    raise SystemExit(f"QMP {qmp_path}: no qemu answered set_link")


def drive(args: argparse.Namespace) -> int:
    serial = Serial(Path(args.serial))
    api = Api(args.api, args.supervisor)
    end = T0 + args.timeout
    failed = False

    def check(name: str, ok: bool, detail: str) -> None:
        nonlocal failed
        failed |= not ok
        say(f"{name} {'PASS' if ok else 'FAIL'} {detail}")

    def watch_api(last: str) -> str:
        """One look at the back-office's view of the kiosk; prints it when it changed."""
        try:
            d = kiosk_state(api, args.ward, args.device)
        except (requests.RequestException, SystemExit) as exc:
            return f"api: {exc}"
        seen = f"version {d.get('version')}, update {d.get('update')}, status {d.get('status')}"
        if seen != last:
            say(f"back-office sees {args.device}: {seen}")
        return seen

    # 1. The app downloads, installs when idle and asks for the reboot: all the app's doing.
    last = ""
    t_ask = None
    while time.monotonic() < end:
        last = watch_api(last)
        if re.search(r"kiosk-reboot: the app asked for a reboot", serial.text()):
            t_ask = time.monotonic() - T0
            break
        time.sleep(10)
    check("app-asked-for-reboot", t_ask is not None,
          f"after {t_ask:.0f} s" if t_ask is not None else "never")
    if t_ask is None:
        return 1
    # 2. The new slot boots with the network cut: no NTP, no back-office.
    set_link(args.qmp, up=False)
    say("network cut (QMP set_link n0 off) for the reboot into the new slot")
    blessed = serial.wait(r"FLEETTEST boot 2: booted primary A-status B-status: .*",
                          end - time.monotonic())
    text = serial.text()
    ready = re.search(r"FLEETTEST boot 2: kiosk (\S+) at (\S+) s.*", text)
    bless = re.search(r"FLEETTEST boot 2: systemd-bless-boot .*", text)
    check("v2-ready-without-network", bool(ready and ready.group(1) == "active"
                                           and "NOT synchronised" in ready.group(0)),
          ready.group(0)[:300] if ready else "no ready line for boot 2")
    check("v2-blessed", bool(bless and "Marked boot as 'good'" in bless.group(0)),
          bless.group(0)[:200] if bless else "no bless line")
    check("rauc-booted-B-good", bool(blessed and blessed.group(0).endswith("B B good good")),
          blessed.group(0) if blessed else "no rauc status for boot 2")
    set_link(args.qmp, up=True)
    say("network back (QMP set_link n0 on)")
    # 3. The back-office (the supervisor's devices endpoint) sees the kiosk on v2.
    d: dict[str, Any] = {}
    while time.monotonic() < end:
        last = watch_api(last)
        try:
            d = kiosk_state(api, args.ward, args.device)
        except (requests.RequestException, SystemExit):
            d = {}
        update = d.get("update") or {}
        if d.get("version") == args.version and update.get("state") == "up-to-date" \
                and update.get("slot") == "B":
            break
        time.sleep(10)
    update = d.get("update") or {}
    check("backoffice-sees-v2-up-to-date",
          d.get("version") == args.version and update.get("state") == "up-to-date"
          and update.get("version") == args.version and update.get("slot") == "B",
          f"version {d.get('version')}, update {update}, alarm {d.get('alarm')}")
    say(f"RESULT {'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    for name in ("api", "admin", "bundle", "version", "ward", "device"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--compatible", default="ward-kiosk-amd64")
    d = sub.add_parser("drive")
    for name in ("api", "supervisor", "serial", "qmp", "ward", "device", "version"):
        d.add_argument(f"--{name}", required=True)
    d.add_argument("--timeout", type=float, default=3000)
    lk = sub.add_parser("link", help="the guest's network on or off (boot-test.sh's power cycle)")
    lk.add_argument("--qmp", required=True)
    lk.add_argument("--down", action="store_true")
    args = ap.parse_args(argv)
    if args.command == "link":
        set_link(args.qmp, up=not args.down)
        return 0
    return prepare(args) if args.command == "prepare" else drive(args)


if __name__ == "__main__":
    sys.exit(main())
