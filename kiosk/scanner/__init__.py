"""The 2D barcode scanner (issue #19: a booking's QR at check-in): one interface, chosen
by `[scanner] backend` of config/kiosk.toml through the device registry (kiosk.devices).

* `evdev`  — a USB HID scanner in keyboard-wedge mode, read from its /dev/input/event*
  node (grabbed, so its "keystrokes" never reach the UI): kiosk/scanner/evdev.py;
* `serial` — a scanner in serial (USB CDC-ACM / RS-232) mode, one code per line:
  kiosk/scanner/serial_port.py;
* `standin` — hardware/scanner (development and tests only);
* `none`   — no scanner: the code is typed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kiosk.devices import registry
from kiosk.domain.section import Section

KEYS = ("backend", "device", "baudrate", "standin_dir")


class BarcodeScanner(Protocol):
    """Blocking reads of one decoded code (its text, without the line end)."""

    def read(self, timeout: float) -> str | None:
        """The next code scanned within `timeout` seconds, or None."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class ScannerConfig:
    backend: str = "none"
    device: str = ""               # evdev: /dev/input/by-id/...-event-kbd; serial: /dev/ttyACM0
    baudrate: int = 9600
    standin_dir: Path | None = None  # standin: where a "presented" QR image is put

    @classmethod
    def from_section(cls, section: Section, base_dir: str | os.PathLike[str]) -> ScannerConfig:
        section.unknown_keys(KEYS)
        backend = section.text("backend", cls.backend)
        if backend != "none":
            registry().factory("scanner", backend, file=section.file,
                               key=section.key("backend"))
        device = section.data.get("device", "")
        if not isinstance(device, str):
            raise section.error("device", "must be a path (a string)")
        if backend in ("evdev", "serial") and not device:
            raise section.error("device", f"backend {backend!r} needs the device's path")
        folder = section.optional_text("standin_dir")
        return cls(backend=backend, device=device,
                   baudrate=section.integer("baudrate", cls.baudrate, min=1200, max=921600),
                   standin_dir=Path(base_dir) / folder if folder else None)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ScannerConfig:
        from kiosk.configfile import read_kiosk_config

        root = read_kiosk_config(path)
        return cls.from_section(root.section("scanner", {}), Path(root.file).parent)


def open_scanner(config: ScannerConfig | None = None) -> BarcodeScanner | None:
    """The scanner `[scanner] backend` names (None for "none")."""
    config = config or ScannerConfig.load()
    if config.backend == "none":
        return None
    scanner: BarcodeScanner = registry().factory("scanner", config.backend)(config)
    return scanner
