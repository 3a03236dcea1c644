"""The maintainer exit through the real app: five taps on the top-left corner open the PIN
pad only on a kiosk with a provisioned PIN; five wrong PINs lock it (the right one too)
for 15 minutes, across a restart; every attempt goes to the back-office reporter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.ui.maintainer_gate import LOCK_SECONDS, MaintainerGate, hash_pin

PIN = "731942"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def exits(kiosk: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """app.stop() recorded instead of done (the app is shared by the UI tests)."""
    stopped: list[str] = []
    monkeypatch.setattr(kiosk.app, "stop", lambda *a: stopped.append("stop"))
    kept = kiosk.app.maintainer
    yield stopped
    kiosk.app.maintainer = kept
    view = getattr(kiosk.app, "maintainer_view", None)
    if view is not None:
        view.dismiss()
        kiosk.app.maintainer_view = None
    kiosk.h.pump()


def five_corner_taps(k: Any) -> None:
    t = k.app.target
    for _ in range(5):
        k.h.tap_at(t * 0.5, k.h.window.height - t * 0.5)


def enter(k: Any, pin: str) -> None:
    for d in pin:
        k.tap("maintainer_key", d)
    k.tap("maintainer_ok")


def test_no_provisioned_pin_no_pin_pad(kiosk: Any, exits: list[str]) -> None:
    kiosk.app.maintainer_view = None
    kiosk.app.maintainer = MaintainerGate("", None)    # the shipped config: no hash
    five_corner_taps(kiosk)
    assert kiosk.app.maintainer_view is None
    assert not any("maintainer_ok" in (getattr(w, "action", None) or [])
                   for w in kiosk.h.widgets())
    assert exits == []


def test_five_wrong_pins_lock_the_exit_across_a_restart(kiosk: Any, exits: list[str],
                                                        tmp_path: Path) -> None:
    k = kiosk
    clock = Clock()
    reports: list[dict[str, Any]] = []
    state = tmp_path / "maintainer-lock.json"
    pin_hash = hash_pin(PIN)
    k.app.maintainer = MaintainerGate(pin_hash, state, clock=clock, on_attempt=reports.append)
    five_corner_taps(k)
    assert k.app.maintainer_view in k.h.window.children
    for n in range(4):
        enter(k, f"00000{n}")
        assert "あと" in k.app.maintainer_status.text and exits == []
    enter(k, "000009")
    assert "locked until" in k.app.maintainer_status.text
    enter(k, PIN)                                   # the right PIN, but locked
    assert exits == [] and reports[-1]["last"] == "locked"
    assert (reports[-1]["ok"], reports[-1]["wrong"], reports[-1]["locked"]) == (0, 5, 1)
    k.app.maintainer_view.dismiss()
    k.h.settle()                                    # faded out: taps reach the app again

    # The app restarts (same state file): still locked, the pad says so at once.
    k.app.maintainer = MaintainerGate(pin_hash, state, clock=clock, on_attempt=reports.append)
    k.app.maintainer_view = None
    five_corner_taps(k)
    assert k.app.maintainer_view in k.h.window.children
    assert "locked until" in k.app.maintainer_status.text
    enter(k, PIN)
    assert exits == []
    clock.now += LOCK_SECONDS
    enter(k, PIN)
    assert exits == ["stop"] and reports[-1]["last"] == "ok"
    assert PIN not in state.read_text()
