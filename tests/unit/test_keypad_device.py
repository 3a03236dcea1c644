"""The keypad device (kiosk.keypad): chosen by `[keypad] device` through the registry,
its config checked, and the evdev adapter's reading of key events. This machine has no
/dev/uinput, so the adapter reads python-evdev's own InputEvent objects from a device
object standing for the node (a unit test of the reading loop and the key map)."""

from __future__ import annotations

import threading
import time
from typing import Any

import evdev
import pytest

from hardware.keypad import StandInKeypad
from kiosk.domain.errors import ConfigError
from kiosk.domain.keypad import Key
from kiosk.domain.section import Section
from kiosk.keypad import KeypadConfig, NoKeypad, open_keypad
from kiosk.keypad.usb import EvdevKeypad, key_of


def root(**keypad: Any) -> Section:
    return Section({"keypad": keypad} if keypad else {}, "kiosk.toml")


def test_the_registry_opens_the_keypad_the_config_names() -> None:
    assert isinstance(open_keypad(root(), "kiosk.toml"), NoKeypad)   # no section: none
    standin = open_keypad(root(device="standin"), "kiosk.toml")
    assert isinstance(standin, StandInKeypad)
    standin.press("1", "enter")
    assert standin.read() == [Key.D1, Key.ENTER] and standin.read() == []


def test_bad_keypad_config_names_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        open_keypad(root(device="evdev"), "kiosk.toml")
    assert err.value.key == "keypad.path"
    with pytest.raises(ConfigError) as err:
        open_keypad(root(device="braille"), "kiosk.toml")
    assert err.value.key == "keypad.device"
    with pytest.raises(ConfigError) as err:
        open_keypad(root(device="none", colour="red"), "kiosk.toml")
    assert "colour" in str(err.value)


def test_the_key_map_covers_a_usb_keypad() -> None:
    names = evdev.ecodes.KEY
    assert [key_of(names[evdev.ecodes.ecodes[f"KEY_KP{d}"]]) for d in range(10)] == \
        [Key(str(d)) for d in range(10)]
    assert key_of(names[evdev.ecodes.KEY_KPENTER]) is Key.ENTER
    assert key_of(names[evdev.ecodes.KEY_BACKSPACE]) is Key.BACK
    assert key_of(names[evdev.ecodes.KEY_KPMINUS]) is Key.CANCEL
    assert key_of(names[evdev.ecodes.KEY_KPPLUS]) is Key.REPEAT
    assert key_of(names[evdev.ecodes.KEY_NUMLOCK]) is None


class Node:
    """The device node's events: key down, repeat and up of 1, 2, NumLock, Enter."""

    name = "USB Keypad"

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.grabbed = False

    def grab(self) -> None:
        self.grabbed = True

    def read_loop(self) -> Any:
        e = evdev.ecodes
        for code in (e.KEY_KP1, e.KEY_KP2, e.KEY_NUMLOCK, e.KEY_KPENTER):
            for value in (1, 2, 0):            # down, auto-repeat, up: one key
                yield evdev.InputEvent(0, 0, e.EV_KEY, code, value)
            yield evdev.InputEvent(0, 0, e.EV_SYN, 0, 0)
        self.closed.wait(5)
        raise OSError(19, "No such device")   # pulled out

    def close(self) -> None:
        self.closed.set()


def test_the_evdev_adapter_queues_key_downs_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    node = Node()
    monkeypatch.setattr(EvdevKeypad, "_open", lambda self: node)
    pad = EvdevKeypad(KeypadConfig(device="evdev", path="/dev/input/event9"))
    keys: list[Key] = []
    end = time.monotonic() + 5
    while len(keys) < 3 and time.monotonic() < end:
        keys += pad.read()
        time.sleep(0.01)
    assert keys == [Key.D1, Key.D2, Key.ENTER]
    pad.close()
    assert node.closed.is_set()
    pad._thread.join(5)
    assert not pad._thread.is_alive()
