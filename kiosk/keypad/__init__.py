"""The tactile numeric keypad (as on bank ATMs; a USB keypad): a device like the voice
(interface + real adapter + stand-in), chosen by `[keypad] device` in kiosk.toml.

    [keypad] device = "evdev"    kiosk.keypad.usb: a USB keypad through Linux evdev
                      "standin"  hardware.keypad: keys pressed by the tests and the demo
                      "none"     no keypad (the default)

The device reports the resident's keys as `kiosk.domain.keypad.Key`; what a key means
on a screen is the domain's (`KeypadGuide`). A key is no personal data, but a PIN is
typed with them: the adapters never log a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.domain.keypad import Key
from kiosk.domain.section import Section

KEYS = ("device", "path", "name", "grab")


class Keypad(Protocol):
    def read(self) -> list[Key]:
        """The keys pressed since the last call, in order; never blocks."""
        ...

    def close(self) -> None: ...


class NoKeypad:
    """A kiosk without a keypad."""

    def read(self) -> list[Key]:
        return []

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class KeypadConfig:
    """The [keypad] section of kiosk.toml."""

    device: str = "none"
    path: str = ""      # the evdev node, e.g. /dev/input/by-id/usb-…-event-kbd
    name: str = ""      # or: the first input device whose name contains this
    grab: bool = True   # the keypad's keys reach the kiosk alone (no other reader)

    @classmethod
    def from_section(cls, s: Section) -> KeypadConfig:
        s.unknown_keys(KEYS)
        d = cls()
        config = cls(device=s.text("device", d.device), path=s.text("path", d.path),
                     name=s.text("name", d.name), grab=s.flag("grab", d.grab))
        if config.device == "evdev" and not (config.path or config.name):
            raise s.error("path", "an evdev keypad needs its device node (path) or name")
        return config


def open_keypad(root: Section, file: str) -> Any:
    """The keypad `[keypad] device` names (none when the section is absent)."""
    from kiosk.devices import registry
    config = KeypadConfig.from_section(root.section("keypad", {}))
    return registry().factory("keypad", config.device, file=file, key="keypad.device")(config)


def open_no_keypad(config: KeypadConfig, **_: Any) -> NoKeypad:
    return NoKeypad()
