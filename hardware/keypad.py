"""The stand-in keypad (`[keypad] device = "standin"`): the tests and the demo press its
keys (`press("1", "enter")`); the app reads them as from the USB keypad."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.domain.keypad import Key


@dataclass
class StandInKeypad:
    pending: list[Key] = field(default_factory=list)
    closed: bool = False

    def press(self, *keys: str) -> None:
        """Keys by value: digits "0"–"9", "enter", "back", "cancel", "repeat"."""
        self.pending.extend(Key(k) for k in keys)

    def read(self) -> list[Key]:
        keys, self.pending = self.pending, []
        return keys

    def close(self) -> None:
        self.closed = True


def open_standin_keypad(config: Any = None, **_: Any) -> StandInKeypad:
    """The registry's factory (entry point `keypad.standin`)."""
    return StandInKeypad()
