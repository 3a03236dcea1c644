"""The updater device: what the update agent needs of an A/B root updater.

Three parts, like every device (kiosk/devices.py): this interface; the real adapter
(`RaucUpdater`, the `rauc` CLI of the image: RAUC 1.8's `rauc status --detailed
--output-format=json`, `rauc install <bundle>`, and a reboot asked of a root unit through
`/run/kiosk/reboot-request`); and a stand-in in hardware/updater.py (entry point
`updater.standin`). `[fleet] updater` in kiosk.toml names which one ("rauc", "standin").
No Kivy here.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

REBOOT_REQUEST = Path("/run/kiosk/reboot-request")   # a root unit reboots when it appears
Progress = Callable[[int, str], None]                # percent, RAUC's step text


@dataclass(frozen=True)
class Slot:
    name: str                 # "rootfs.0"
    bootname: str | None      # "A"
    state: str                # booted | active | inactive
    boot_status: str | None   # good | bad (None: not a bootable slot)
    version: str | None       # the bundle version installed in it (None: never by RAUC)


@dataclass(frozen=True)
class UpdaterStatus:
    compatible: str
    booted: str | None              # the booted slot's bootname ("A")
    slots: tuple[Slot, ...] = field(default_factory=tuple)
    primary: str | None = None      # the slot to boot next (its bootname)

    @property
    def primary_slot(self) -> Slot | None:
        return next((s for s in self.slots if s.bootname == self.primary), None)

    @property
    def booted_slot(self) -> Slot | None:
        return next((s for s in self.slots if s.bootname == self.booted
                     or s.state == "booted"), None)

    @property
    def running_version(self) -> str | None:
        slot = self.booted_slot
        return slot.version if slot is not None else None

    def bad_versions(self) -> set[str]:
        """Versions in a slot marked bad: installed, booted, failed and rolled back."""
        return {s.version for s in self.slots if s.boot_status == "bad" and s.version}


class InstallRefused(Exception):
    """The updater refused the bundle; `kind` is signature, compatible, io or other."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class Updater(Protocol):
    def status(self) -> UpdaterStatus: ...

    def install(self, bundle: Path, progress: Progress | None = None) -> None:
        """Write the bundle to the other slot and mark it to boot next; InstallRefused."""

    def request_reboot(self) -> None: ...

    def keep_booted(self) -> None:
        """Make the booted slot the one to boot next again (an installed slot no longer
        wanted is then not booted by a reboot for another reason)."""


# --- RAUC ---------------------------------------------------------------------------------

def parse_rauc_status(text: str) -> UpdaterStatus:
    """RAUC 1.8 `status --detailed --output-format=json` (src/main.c,
    r_status_formatter_json): {"compatible", "variant", "booted", "boot_primary",
    "slots": [{"<name>": {"class", "device", "type", "bootname", "state", "parent",
    "mountpoint", "boot_status", "slot_status": {"bundle": {"version", …}, …}}}, …]}."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("slots"), list):
        raise ValueError("not a RAUC status: no slots")
    slots = []
    primary_name = data.get("boot_primary")
    primary = None
    for item in data["slots"]:
        for name, s in item.items():
            if s.get("class") not in (None, "rootfs") or s.get("parent"):
                continue   # only the root slots (not their children, not the bootloader)
            if name == primary_name:
                primary = s.get("bootname")
            bundle = (s.get("slot_status") or {}).get("bundle") or {}
            slots.append(Slot(name=name, bootname=s.get("bootname"), state=s.get("state", ""),
                              boot_status=s.get("boot_status"), version=bundle.get("version")))
    return UpdaterStatus(compatible=str(data.get("compatible") or ""),
                         booted=data.get("booted"), slots=tuple(slots), primary=primary)


PERCENT = re.compile(r"^\s*(\d{1,3})% (.*)$")


def refusal_kind(stderr: str) -> str:
    """What a failed `rauc install` said, as one word (its messages: src/signature.c,
    src/install.c, the bundle download)."""
    low = stderr.lower()
    if "signature" in low or "certificate" in low or "verify" in low:
        return "signature"
    if "compatible" in low:
        return "compatible"
    if any(w in low for w in ("no space", "i/o", "input/output", "read-only", "curl",
                              "download", "failed to open", "no such file")):
        return "io"
    return "other"


class RaucUpdater:
    """The image's RAUC, through its command line."""

    def __init__(self, rauc: str = "rauc", reboot_request: Path = REBOOT_REQUEST,
                 env: dict[str, str] | None = None) -> None:
        self.rauc = rauc
        self.reboot_request = reboot_request
        self.env = env    # None: this process's (tests point D-Bus elsewhere)

    def status(self) -> UpdaterStatus:
        done = subprocess.run(  # noqa: S603 — the configured rauc, fixed arguments
            [self.rauc, "status", "--detailed", "--output-format=json"],
            capture_output=True, text=True, timeout=60, check=False, env=self.env)
        if done.returncode != 0:
            raise InstallRefused("other", done.stderr.strip()[-500:] or "rauc status failed")
        return parse_rauc_status(done.stdout)

    def install(self, bundle: Path, progress: Progress | None = None) -> None:
        proc = subprocess.Popen(  # noqa: S603 — the configured rauc, a file we wrote
            [self.rauc, "install", str(bundle)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=self.env)
        assert proc.stdout is not None
        errors = []
        for line in proc.stdout:   # "  40% Copying image to rootfs.1" (not a tty: no bar)
            match = PERCENT.match(line)
            if match and progress is not None:
                progress(min(100, int(match.group(1))), match.group(2).strip())
            elif line.startswith("LastError:"):   # the service's reason, on stdout
                errors.append(line.partition(":")[2].strip())
        stderr = proc.stderr.read() if proc.stderr is not None else ""
        if proc.wait() != 0:
            lines = errors or [x for x in stderr.strip().splitlines() if x.strip()]
            why = " ".join(errors) + " " + stderr
            raise InstallRefused(refusal_kind(why), (lines[-1] if lines else
                                                     "rauc install failed")[:300])

    def request_reboot(self) -> None:
        self.reboot_request.parent.mkdir(parents=True, exist_ok=True)
        self.reboot_request.write_text("kiosk-update\n")

    def keep_booted(self) -> None:
        done = subprocess.run(  # noqa: S603 — the configured rauc, fixed arguments
            [self.rauc, "status", "mark-active", "booted"], capture_output=True, text=True,
            timeout=60, check=False, env=self.env)
        if done.returncode != 0:
            raise InstallRefused("other", done.stderr.strip()[-500:] or "rauc mark-active failed")


def open_rauc_updater(config: Any = None) -> RaucUpdater:
    return RaucUpdater()
