"""The kiosk's devices, chosen by name: one registry for every kind of device.

Each device section of config/kiosk.toml names its device with one switch
(`[card] backend`, `[printer] transport`, ...). The product's own devices are listed
here as "module:function" paths; stand-ins and other optional devices register
themselves as Python entry points in the group `ward_kiosk.devices`, named
"<kind>.<name>" (e.g. `card.standin = hardware.card.local:open_standin_reader`). The
stand-ins are the extra `ward-kiosk[standins]` (the distribution in standins/, which
scripts/bootstrap installs); the product alone (the kiosk image, hardware/image/build.sh)
has none of them, so it refuses a stand-in by name instead of starting it.

The product never imports a stand-in's module: it loads whatever the entry point names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from kiosk.domain.errors import ConfigError

GROUP = "ward_kiosk.devices"
STANDINS_EXTRA = "ward-kiosk[standins]"   # pip install -e '.[standins]' -e ./standins

# The kinds of device a kiosk may have, and the config section that chooses each.
KINDS = {
    "card": "card",                   # My Number card reader
    "printer": "printer",             # ticket printer
    "payment_terminal": "payment.terminal",  # card / e-money terminal
    "scanner": "scanner",             # 2D barcode scanner (a booking's QR, kiosk/scanner)
    "desk": "ui.desk",                # the ticket desk: the sync link, or local numbers
    "voice": "voice.device",          # spoken guidance: Open JTalk / espeak-ng, or none
    "keypad": "keypad.device",        # tactile numeric keypad (USB, evdev), or none
    "updater": "fleet.updater",       # A/B root updater: RAUC, or a stand-in
}

# The product's own devices: (kind, name) → "module:function".
BUILTIN: dict[tuple[str, str], str] = {
    ("card", "pcsc"): "kiosk.card.pcsc:open_pcsc_reader",
    ("printer", "network"): "kiosk.printing.config:connect_network",
    ("printer", "usb"): "kiosk.printing.config:connect_usb",
    ("printer", "serial"): "kiosk.printing.config:connect_serial",
    ("payment_terminal", "nexo"): "kiosk.payment.terminal:open_nexo_terminal",
    ("voice", "offline"): "kiosk.speech.voice:open_offline_voice",
    ("voice", "none"): "kiosk.speech.voice:open_silent_voice",
    ("keypad", "evdev"): "kiosk.keypad.usb:open_evdev_keypad",
    ("keypad", "none"): "kiosk.keypad:open_no_keypad",
    ("scanner", "evdev"): "kiosk.scanner.evdev:open_evdev_scanner",
    ("scanner", "serial"): "kiosk.scanner.serial_port:open_serial_scanner",
    ("updater", "rauc"): "kiosk.fleet.updater:open_rauc_updater",
}


class DeviceRegistry:
    """Factories for devices by (kind, name): the built-ins plus the installed entry points."""

    def __init__(self, installed: Iterable[EntryPoint] | None = None,
                 builtin: dict[tuple[str, str], str] | None = None) -> None:
        self._paths: dict[tuple[str, str], str] = dict(BUILTIN if builtin is None else builtin)
        eps = entry_points(group=GROUP) if installed is None else installed
        for ep in eps:
            kind, _, name = ep.name.partition(".")
            if kind in KINDS and name:
                self._paths[(kind, name)] = ep.value

    def names(self, kind: str) -> tuple[str, ...]:
        """The device names of one kind this install can start."""
        return tuple(sorted(n for k, n in self._paths if k == kind))

    def factory(self, kind: str, name: str, *, file: str = "kiosk.toml",
                key: str = "") -> Callable[..., Any]:
        """The factory for `name`; a ConfigError naming the switch when this install has
        no such device (e.g. "standin" without the stand-ins installed)."""
        path = self._paths.get((kind, name))
        if path is None:
            hint = (f" (the stand-ins are not installed here: they are the extra "
                    f"{STANDINS_EXTRA}, development and test images only)"
                    if name == "standin" else "")
            known = ", ".join(self.names(kind)) or "none"
            raise ConfigError(file, key or f"{KINDS[kind]}",
                              f"no {kind} device {name!r} in this install (known: {known})"
                              f"{hint}")
        module, _, attr = path.partition(":")
        factory: Callable[..., Any] = getattr(importlib.import_module(module), attr)
        return factory


_registry: DeviceRegistry | None = None


def registry() -> DeviceRegistry:
    """The registry of this install (entry points read once per process)."""
    global _registry
    if _registry is None:
        _registry = DeviceRegistry()
    return _registry
