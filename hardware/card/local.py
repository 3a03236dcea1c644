"""The stand-in card in-process, behind the kiosk's CardReader interface (no pcscd).

For demos on a machine without pcscd and for quick UI work; tests of the card reader
itself go through the real PC/SC stack instead (tests/support/pcsc.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from hardware.card.applet import MyNumberApplet
from hardware.card.profile import ATR, Profile
from kiosk.card.authenticity import TrustedCa
from kiosk.card.config import CardConfig
from kiosk.card.errors import Cancelled, CardRemoved, NoCard
from kiosk.card.session import CardApChannel


class LocalTransport:
    def __init__(self, applet: MyNumberApplet, reader: LocalCardReader) -> None:
        self.applet = applet
        self.reader = reader

    def transmit(self, command: bytes) -> tuple[bytes, int]:
        if not self.reader.inserted.is_set():
            raise CardRemoved("stand-in card removed")
        response = self.applet.process(command)
        return response[:-2], int.from_bytes(response[-2:], "big")


class LocalCardReader:
    NAME = "Stand-in card reader (in-process)"

    def __init__(self, profile: str | Path, trusted: Sequence[TrustedCa] = (), *,
                 live_challenge: bool = False, inserted: bool = True) -> None:
        self.profile = Profile.load(profile)
        self.applet = MyNumberApplet(self.profile)
        self.trusted = tuple(trusted)
        self.live_challenge = live_challenge
        self.inserted = threading.Event()
        self.removed = threading.Event()
        self._cancel = threading.Event()
        self.insert() if inserted else self.remove()

    # The demo / a test drives these to play the resident.
    def insert(self, profile: str | Path | None = None) -> None:
        if profile is not None:
            self.profile = Profile.load(profile)
            self.applet = MyNumberApplet(self.profile)
        self.removed.clear()
        self.inserted.set()

    def remove(self) -> None:
        self.inserted.clear()
        self.applet.power_off()
        self.removed.set()

    # CardReader
    def readers(self) -> list[str]:
        return [self.NAME]

    def card_present(self) -> bool:
        return self.inserted.is_set()

    def _wait(self, event: threading.Event, timeout: float | None) -> bool:
        self._cancel.clear()
        step = 0.05
        waited = 0.0
        while not event.wait(step):
            if self._cancel.is_set():
                raise Cancelled("wait cancelled")
            waited += step
            if timeout is not None and waited >= timeout:
                return False
        return True

    def wait_for_card(self, timeout: float | None = None) -> CardApChannel:
        if not self._wait(self.inserted, timeout):
            raise NoCard("no card arrived in time")
        return CardApChannel(LocalTransport(self.applet, self), self.trusted, atr=ATR,
                         live_challenge=self.live_challenge, on_close=self.applet.power_off)

    def poll(self) -> CardApChannel | None:
        return self.wait_for_card(0) if self.inserted.is_set() else None

    def wait_for_removal(self, timeout: float | None = None) -> bool:
        return self._wait(self.removed, timeout)

    def cancel(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        pass


DEFAULT_PROFILE = Path(__file__).resolve().parent / "profiles" / "yamada.toml"


def open_standin_reader(config: CardConfig) -> LocalCardReader:
    """`[card] backend = "standin"` (entry point `card.standin`): the stand-in card
    in-process, `standin_profile`'s resident (default 山田太郎, PIN 1234)."""
    return LocalCardReader(config.standin_profile or DEFAULT_PROFILE, config.trusted_ca,
                           live_challenge=config.live_challenge)
