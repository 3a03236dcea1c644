"""A USB HID 2D scanner in keyboard-wedge mode, read from its Linux input device
(/dev/input/event*, struct input_event) without a library: the node is grabbed
(EVIOCGRAB) so the scanner's "typing" never reaches the kiosk's UI, and its key presses
are turned back into text (US layout, as scanners default to) up to Enter."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import time

from kiosk.scanner import ScannerConfig

EVENT = struct.Struct("llHHi")  # struct timeval (2 longs), type, code, value
EV_KEY = 1
EVIOCGRAB = 0x40044590
KEY_ENTER, KEY_KPENTER, KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 28, 96, 42, 54
# Linux key codes → (plain, shifted), US layout: what a scanner "types".
_ROWS = {2: "1234567890-=", 16: "qwertyuiop[]", 30: "asdfghjkl;'`", 43: "\\zxcvbnm,./"}
_SHIFTED = {2: "!@#$%^&*()_+", 16: "QWERTYUIOP{}", 30: 'ASDFGHJKL:"~', 43: "|ZXCVBNM<>?"}
KEYMAP: dict[int, tuple[str, str]] = {57: (" ", " ")}
for _start, _plain in _ROWS.items():
    for _i, _ch in enumerate(_plain):
        KEYMAP[_start + _i] = (_ch, _SHIFTED[_start][_i])


class KeystrokeDecoder:
    """Key events → codes: press (value 1) of a mapped key adds its character; Enter ends."""

    def __init__(self) -> None:
        self._shift = False
        self._text: list[str] = []

    def feed(self, type_: int, code: int, value: int) -> str | None:
        if type_ != EV_KEY:
            return None
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            self._shift = value != 0
            return None
        if value != 1:  # release (0) or auto-repeat (2)
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            text, self._text = "".join(self._text), []
            return text or None
        chars = KEYMAP.get(code)
        if chars is not None and len(self._text) < 4096:
            self._text.append(chars[1] if self._shift else chars[0])
        return None


class EvdevScanner:
    def __init__(self, fd: int, grab: bool = True) -> None:
        self._fd = fd
        self._decoder = KeystrokeDecoder()
        self._rest = b""
        if grab:
            fcntl.ioctl(fd, EVIOCGRAB, 1)

    def read(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            while len(self._rest) >= EVENT.size:
                _s, _us, type_, code, value = EVENT.unpack_from(self._rest)
                self._rest = self._rest[EVENT.size:]
                text = self._decoder.feed(type_, code, value)
                if text:
                    return text
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, EVENT.size * 64)
                if not chunk:
                    return None
                self._rest += chunk

    def close(self) -> None:
        os.close(self._fd)


def open_evdev_scanner(config: ScannerConfig) -> EvdevScanner:
    return EvdevScanner(os.open(config.device, os.O_RDONLY | os.O_NONBLOCK))
