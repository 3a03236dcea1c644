"""A stand-in for the kiosk image's RAUC: two root slots (A, B) in a JSON file.

It behaves like RAUC with systemd-boot boot counting as the update agent sees it
(kiosk/fleet/updater.py): `install` checks the bundle's signature and compatible, then
writes the other slot and makes it the one to boot next; `request_reboot` "reboots" at
once: the next slot boots, and a bundle built not to reach "kiosk ready" uses up its boot
tries, is marked bad and the old slot boots again (the rollback). A stand-in bundle is a
small JSON file (`make_bundle`); `fail_io` makes the next install fail as a disk or
download error would. The state survives the process, as slots survive a reboot.

Selected by `[fleet] updater = "standin"` (entry point `updater.standin`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from kiosk.fleet.updater import InstallRefused, Progress, Slot, UpdaterStatus

SIGNING_KEY = "standin-bundle-key"     # the stand-in's "keyring"
COMPATIBLE = "ward-kiosk-amd64"
SLOTS = ("A", "B")


def _signature(compatible: str, version: str, boots: bool) -> str:
    return hashlib.sha256(f"{SIGNING_KEY}|{compatible}|{version}|{boots}".encode()).hexdigest()


def make_bundle(path: Path, version: str, *, compatible: str = COMPATIBLE, boots: bool = True,
                signed: bool = True, padding: int = 0) -> Path:
    """A stand-in bundle; `boots=False`: it installs but never reaches "kiosk ready";
    `signed=False`: a signature the keyring does not accept; `padding`: bytes of filler
    (a bundle large enough to download in parts)."""
    body = {"format": "standin-bundle", "compatible": compatible, "version": version,
            "boots": boots,
            "signature": _signature(compatible, version, boots) if signed else "0" * 64,
            "padding": "x" * padding}
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


class StandinUpdater:
    def __init__(self, state_file: Path, *, version: str = "1.0",
                 compatible: str = COMPATIBLE) -> None:
        self.state_file = state_file
        self.compatible = compatible
        self.fail_io = False          # the next install fails as an I/O error would
        self.reboots = 0
        self._lock = threading.Lock()
        if not state_file.exists():
            state_file.parent.mkdir(parents=True, exist_ok=True)
            self._save({"booted": "A", "primary": "A", "slots": {
                "A": {"version": version, "boot_status": "good", "boots": True},
                "B": {"version": None, "boot_status": None, "boots": False}}})

    def _load(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return data

    def _save(self, data: dict[str, Any]) -> None:
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def status(self) -> UpdaterStatus:
        with self._lock:
            data = self._load()
        slots = tuple(Slot(name=f"rootfs.{i}", bootname=b,
                           state="booted" if b == data["booted"] else "inactive",
                           boot_status=data["slots"][b]["boot_status"],
                           version=data["slots"][b]["version"])
                      for i, b in enumerate(SLOTS))
        return UpdaterStatus(compatible=self.compatible, booted=data["booted"], slots=slots,
                             primary=data["primary"])

    def install(self, bundle: Path, progress: Progress | None = None) -> None:
        def step(percent: int, text: str) -> None:
            if progress is not None:
                progress(percent, text)

        step(0, "Installing")
        if self.fail_io:
            self.fail_io = False
            raise InstallRefused("io", "Failed to write slot: Input/output error")
        try:
            body = json.loads(bundle.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InstallRefused("io", f"failed to open bundle: {exc}") from None
        if not isinstance(body, dict) or body.get("format") != "standin-bundle":
            raise InstallRefused("signature", "signature verification failed: not a bundle")
        step(20, "Verifying signature")
        version, compatible = str(body.get("version")), str(body.get("compatible"))
        boots = bool(body.get("boots"))
        if body.get("signature") != _signature(compatible, version, boots):
            raise InstallRefused("signature", "signature verification failed: "
                                 "certificate signature failure")
        step(40, "Checking manifest contents")
        if compatible != self.compatible:
            raise InstallRefused("compatible", f"Compatible mismatch: Expected "
                                 f"'{self.compatible}' but bundle manifest has '{compatible}'")
        with self._lock:
            data = self._load()
            other = next(b for b in SLOTS if b != data["booted"])
            step(60, f"Copying image to rootfs.{SLOTS.index(other)}")
            data["slots"][other] = {"version": version, "boot_status": "good", "boots": boots}
            data["primary"] = other
            self._save(data)
        step(100, "Installing done.")

    def request_reboot(self) -> None:
        """The reboot, at once: the primary slot boots; one that never reaches "kiosk
        ready" is marked bad after its tries and the other slot boots again."""
        with self._lock:
            data = self._load()
            target = data["primary"]
            if not data["slots"][target]["boots"]:
                data["slots"][target]["boot_status"] = "bad"
                target = next(b for b in SLOTS if b != target)
                data["primary"] = target
            data["booted"] = target
            self._save(data)
            self.reboots += 1


    def keep_booted(self) -> None:
        with self._lock:
            data = self._load()
            data["primary"] = data["booted"]
            self._save(data)


def open_standin_updater(config: Any) -> StandinUpdater:
    """The stand-in named by `[fleet] updater = "standin"`: its slots in
    `<data dir>/standin-slots.json`, the first slot at `[fleet] standin_version`."""
    return StandinUpdater(Path(config.data_dir) / "standin-slots.json",
                          version=config.standin_version)
