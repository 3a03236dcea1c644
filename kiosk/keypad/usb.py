"""The real keypad: a USB numeric keypad read through Linux evdev (python-evdev).

A reader thread takes key-down events from the device node and queues them as `Key`s;
the app drains the queue (`read`). With `grab` the keypad's keys go to the kiosk alone.
A keypad pulled out is logged once and reads as no keys; it is opened again when it
comes back (the thread retries every few seconds), so a loose cable never stops a visit
on the touch screen.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from kiosk.domain.errors import ConfigError
from kiosk.domain.keypad import Key
from kiosk.keypad import KeypadConfig

log = logging.getLogger(__name__)

# evdev key names → the resident's keys. A numeric keypad's own keys, and the top row
# digits for keypads that send those. ATM keypads: Enter (green), Clear (yellow),
# Cancel (red); on a plain USB keypad "+" repeats the screen and "-" cancels.
KEYMAP: dict[str, Key] = {
    **{f"KEY_KP{d}": Key(str(d)) for d in range(10)},
    **{f"KEY_{d}": Key(str(d)) for d in range(10)},
    "KEY_KPENTER": Key.ENTER, "KEY_ENTER": Key.ENTER,
    "KEY_BACKSPACE": Key.BACK, "KEY_KPDOT": Key.BACK, "KEY_DELETE": Key.BACK,
    "KEY_KPMINUS": Key.CANCEL, "KEY_ESC": Key.CANCEL, "KEY_CANCEL": Key.CANCEL,
    "KEY_KPPLUS": Key.REPEAT, "KEY_HELP": Key.REPEAT, "KEY_KPASTERISK": Key.REPEAT,
}
RETRY_S = 3.0


def key_of(names: str | list[str] | tuple[str, ...]) -> Key | None:
    """The resident's key for an evdev key name (evdev gives a list for aliases)."""
    for name in (names,) if isinstance(names, str) else names:
        if name in KEYMAP:
            return KEYMAP[name]
    return None


def find_device(config: KeypadConfig) -> str:
    """The device node: `path`, or the first input device whose name has `name`."""
    if config.path:
        return config.path
    import evdev
    for node in evdev.list_devices():
        dev = evdev.InputDevice(node)
        try:
            if config.name.lower() in dev.name.lower():
                return str(node)
        finally:
            dev.close()
    raise FileNotFoundError(f"no input device named like {config.name!r}")


class EvdevKeypad:
    def __init__(self, config: KeypadConfig) -> None:
        self.config = config
        self._keys: queue.Queue[Key] = queue.Queue()
        self._stop = threading.Event()
        self._device: Any = None
        self._thread = threading.Thread(target=self._run, name="kiosk-keypad", daemon=True)
        self._thread.start()

    def read(self) -> list[Key]:
        keys: list[Key] = []
        while True:
            try:
                keys.append(self._keys.get_nowait())
            except queue.Empty:
                return keys

    def _open(self) -> Any:
        import evdev
        device = evdev.InputDevice(find_device(self.config))
        if self.config.grab:
            device.grab()
        log.info("keypad: %s", device.name)
        return device

    def _run(self) -> None:
        import evdev
        warned = False
        while not self._stop.is_set():
            try:
                self._device = self._open()
                warned = False
                for event in self._device.read_loop():
                    if self._stop.is_set():
                        return
                    if event.type == evdev.ecodes.EV_KEY and event.value == 1:  # key down
                        key = key_of(evdev.ecodes.KEY.get(event.code, ""))
                        if key is not None:
                            self._keys.put(key)
            except OSError as exc:   # unplugged, or not there yet: try again later
                if not warned and not self._stop.is_set():
                    log.warning("keypad not available: %s", exc.strerror or exc)
                    warned = True
            finally:
                self._close_device()
            self._stop.wait(RETRY_S)

    def _close_device(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.close()
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._close_device()   # ends read_loop with an OSError


def open_evdev_keypad(config: KeypadConfig, **_: Any) -> EvdevKeypad:
    """The registry's factory for `[keypad] device = "evdev"`."""
    try:
        import evdev  # noqa: F401  (Linux only; the kiosk image has it)
    except ImportError:
        raise ConfigError("kiosk.toml", "keypad.device",
                          "python-evdev is not installed (pip install evdev)") from None
    return EvdevKeypad(config)
