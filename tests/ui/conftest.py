"""One real Kivy app for the UI tests (Kivy has one window per process), rendered with
SDL offscreen through Mesa, touched through Kivy's input path. Each test gets fresh
stand-in devices and a clean session."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))


@dataclass
class Clock:
    offset: float = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@dataclass
class Kiosk:
    h: Any
    app: Any
    reader: Any
    printer: Any
    desk: Any
    clock: Clock

    @property
    def s(self) -> Any:
        return self.app.controller.session

    def tap(self, *action: Any) -> None:
        self.h.tap(*action)

    def labels(self) -> list[str]:
        return [str(getattr(w, "text", "")) for w in self.h.widgets()]


@pytest.fixture(scope="session")
def kiosk_app() -> Iterator[Any]:
    from devtools.harness import Harness
    from devtools.standins import InProcessPrinter, LocalDesk, StandInReader
    from kiosk.ui.app import build_app, configure_kivy
    from kiosk.ui.ports import KioskDevices
    from kiosk.ui.settings import UiConfig

    cfg = UiConfig.load()
    configure_kivy(cfg, headless=True)
    app = build_app(cfg, KioskDevices(reader=StandInReader(), printer=InProcessPrinter(),
                                      desk=LocalDesk()))
    app.sound.enabled = False
    h = Harness(app).start()
    yield h
    h.stop()


@pytest.fixture
def kiosk(kiosk_app: Any) -> Iterator[Kiosk]:
    from devtools.standins import InProcessPrinter, LocalDesk, StandInReader

    h = kiosk_app
    app = h.app
    c = app.controller
    clock = Clock()
    c.reader, c.printer, c.desk = StandInReader(), InProcessPrinter(), LocalDesk(online=True)
    from hardware.voice import StandInVoice
    app.guidance.voice = StandInVoice()   # records what would be said (tests/ui/test_voice.py)
    c.clock = clock
    for child in list(h.window.children):
        if child is not app.root:
            child.dismiss()
    c.end_visit()
    c.session.wipes.clear()
    h.settle()
    yield Kiosk(h, app, c.reader, c.printer, c.desk, clock)
    c.end_visit()
    h.settle()
