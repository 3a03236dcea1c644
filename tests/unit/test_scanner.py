"""The 2D barcode scanner (issue #19) through its real adapters on this machine: serial
mode over a real pseudo-terminal (pyserial), keyboard-wedge mode from a stream of Linux
input_event records (the evdev node's format), and the stand-in decoding a real QR image
with ZBar; chosen by `[scanner] backend` through the device registry."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import qrcode

from kiosk.domain.appointments import normal_code
from kiosk.domain.errors import ConfigError
from kiosk.domain.section import Section
from kiosk.scanner import ScannerConfig, open_scanner
from kiosk.scanner.evdev import EVENT, EvdevScanner
from kiosk.scanner.serial_port import SerialScanner

CODE = "NUDNQ2BW7K"


def test_serial_mode_over_a_pseudo_terminal() -> None:
    import serial

    master, slave = os.openpty()
    port = serial.Serial(os.ttyname(slave), 9600, timeout=0.2)
    scanner = SerialScanner(port)
    try:
        assert scanner.read(0.2) is None
        os.write(master, f"\r\nWARDAPPT:{CODE[:4]}".encode())
        os.write(master, f"{CODE[4:]}\r\n".encode())
        assert scanner.read(2.0) == f"WARDAPPT:{CODE}"
    finally:
        scanner.close()
        os.close(master)
        os.close(slave)


def _keys(text: str) -> bytes:
    """A keyboard-wedge scanner's input_event records for `text` + Enter (US layout)."""
    from kiosk.scanner.evdev import KEY_ENTER, KEY_LEFTSHIFT, KEYMAP

    out = b""
    for ch in text:
        code, shifted = next((c, ch == s) for c, (p, s) in KEYMAP.items() if ch in (p, s))
        if shifted:
            out += EVENT.pack(0, 0, 1, KEY_LEFTSHIFT, 1)
        out += EVENT.pack(0, 0, 1, code, 1) + EVENT.pack(0, 0, 0, 0, 0)  # press, SYN
        out += EVENT.pack(0, 0, 1, code, 0)
        if shifted:
            out += EVENT.pack(0, 0, 1, KEY_LEFTSHIFT, 0)
    return out + EVENT.pack(0, 0, 1, KEY_ENTER, 1) + EVENT.pack(0, 0, 1, KEY_ENTER, 0)


def test_keyboard_wedge_mode_from_input_events() -> None:
    read_end, write_end = os.pipe()
    scanner = EvdevScanner(read_end, grab=False)  # a pipe cannot be grabbed; a node is
    try:
        data = _keys(f"WARDAPPT:{CODE}") + _keys("wardappt:abc")
        threading.Thread(target=lambda: [os.write(write_end, data[i:i + 40])
                                         for i in range(0, len(data), 40)]).start()
        assert scanner.read(2.0) == f"WARDAPPT:{CODE}"
        assert scanner.read(2.0) == "wardappt:abc"
        assert scanner.read(0.1) is None
    finally:
        scanner.close()
        os.close(write_end)


def test_the_standin_reads_a_real_qr_image(tmp_path: Path) -> None:
    window = tmp_path / "window"
    section = Section({"backend": "standin", "standin_dir": "window"}, "kiosk.toml", "scanner")
    config = ScannerConfig.from_section(section, tmp_path)
    scanner = open_scanner(config)
    assert scanner is not None and config.standin_dir == window
    image = tmp_path / "booking.png"
    qrcode.make(f"WARDAPPT:{CODE}").save(image)
    scanner.present(image)  # type: ignore[attr-defined]
    text = scanner.read(5.0)
    assert text is not None and normal_code(text) == CODE
    assert scanner.read(0.1) is None and not list(window.glob("*.png"))


def test_config_names_the_scanner_by_one_switch(tmp_path: Path) -> None:
    assert open_scanner(ScannerConfig()) is None  # backend "none": the code is typed
    with pytest.raises(ConfigError, match="no scanner device 'laser'"):
        ScannerConfig.from_section(Section({"backend": "laser"}, "kiosk.toml", "scanner"),
                                   tmp_path)
    with pytest.raises(ConfigError, match="device"):
        ScannerConfig.from_section(Section({"backend": "serial"}, "kiosk.toml", "scanner"),
                                   tmp_path)
    from kiosk.configfile import CONFIG_DIR

    assert ScannerConfig.load(CONFIG_DIR / "kiosk.toml").backend == "none"
