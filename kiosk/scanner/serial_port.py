"""A 2D scanner in serial mode (USB CDC-ACM or RS-232): it sends each code it decodes
as one line (CR, LF or CR LF), which is all this reads."""

from __future__ import annotations

import time

import serial

from kiosk.scanner import ScannerConfig

MAX_CODE = 4096  # a QR holds at most ~3 kB; a longer line is noise


class SerialScanner:
    def __init__(self, port: serial.SerialBase) -> None:
        self._port = port
        self._buffer = b""

    def read(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            for end in (b"\r\n", b"\n", b"\r"):
                line, sep, rest = self._buffer.partition(end)
                if sep:
                    self._buffer = rest
                    text = line.decode("utf-8", "replace").strip()
                    if text:
                        return text
                    break
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._port.timeout = min(left, 0.2)
                self._buffer = (self._buffer + self._port.read(256))[-MAX_CODE:]

    def close(self) -> None:
        self._port.close()


def open_serial_scanner(config: ScannerConfig) -> SerialScanner:
    return SerialScanner(serial.Serial(config.device, config.baudrate, timeout=0.2))
