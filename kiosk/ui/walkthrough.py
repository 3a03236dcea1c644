"""The scripted resident visits behind `--headless --walkthrough DIR`: every screen of a
card visit (with a wrong PIN), a no-card visit and an "ask staff" visit, one PNG each,
touched through the real widgets. With `all_modes` it repeats in large text, high
contrast and English (docs/screens is made this way: scripts/kiosk_screens)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kiosk.domain.session import PayMethod
from kiosk.ui.settings import UiConfig

log = logging.getLogger(__name__)

MODES: dict[str, tuple[str, ...]] = {
    "default": (),
    "large": ("large_text",),
    "contrast": ("high_contrast",),
    "en": (),
}


def card_visit(h: Any, shot: Any, reader: Any) -> None:
    from kiosk.ui.standins import StandInCard
    reader.remove()
    shot("01-welcome")
    h.tap("start")
    shot("02-procedure")
    h.tap("choose_procedure", "juminhyo")
    shot("03-identity")
    h.tap("choose_card")
    shot("04-card")
    reader.place(StandInCard())
    h.app._tick()  # the card watch runs every 0.25 s; do not wait for it
    h.settle()
    shot("05-pin")
    for d in "1235":
        h.tap("key", d)
    h.tap("take_pin")
    shot("06-pin-wrong")
    for d in "1234":
        h.tap("key", d)
    h.tap("take_pin")
    shot("07-confirm")
    h.tap("set_count", "copies", 1)
    h.tap("confirm")
    shot("08-payment")
    h.tap("choose_payment", PayMethod.COUNTER)
    shot("09-ticket")
    h.tap("finish")
    shot("10-thanks")


def no_card_visit(h: Any, shot: Any) -> None:
    h.tap("start")
    h.tap("choose_procedure", "shotoku")
    h.tap("choose_no_card")
    shot("11-entry-kana")
    for ch in "さかい":
        h.tap("key", ch)
    h.tap("key", "\u3000")
    for ch in "はなこ":
        h.tap("key", ch)
    shot("12-entry-name")
    h.tap("entry_done")
    for ch in "さかいし":
        h.tap("key", ch)
    h.tap("entry_done")
    shot("13-entry-digits")
    for ch in "19850307":
        h.tap("key", ch)
    h.tap("entry_done")
    for ch in "2024":
        h.tap("key", ch)
    h.tap("entry_done")
    shot("14-confirm-typed")
    h.tap("edit", "purpose")
    shot("15-entry-choice")
    h.tap("entry_done", "保育所の申込み")
    h.app.act("cancel")
    h.settle()


def ask_staff_visit(h: Any, shot: Any) -> None:
    h.tap("start")
    h.tap("choose_procedure", "tennyu")
    h.tap("ask_staff")
    shot("16-ticket-assistance")
    h.app.act("cancel")
    h.settle()


def run_walkthrough(out: Path, cfg: UiConfig, *, all_modes: bool = False,
                    scale: float = 0.5, ports: dict[str, Any] | None = None) -> int:
    from kiosk.ui.app import build_app
    from kiosk.ui.controller import run_now
    from kiosk.ui.harness import Harness
    from kiosk.ui.standins import LocalDesk, StandInPrinter, StandInReader

    if ports is None:
        ports = {"reader": StandInReader(), "printer": StandInPrinter(),
                 "desk": LocalDesk(online=True)}
    ports = {**ports, "runner": run_now}
    reader = ports.get("hands") or ports["reader"]  # puts the card on / off the reader
    app = build_app(cfg, ports=ports)
    h = Harness(app).start()
    written: list[Path] = []
    modes = MODES if all_modes else {"default": ()}
    for mode, toggles in modes.items():
        folder = out / mode if all_modes else out

        def shot(name: str, folder: Path = folder) -> None:
            written.append(h.screenshot(folder / f"{name}.png", scale, colors=96))

        def setup(mode: str = mode, toggles: tuple[str, ...] = toggles) -> None:
            for option in toggles:
                h.tap("toggle", option)
            if mode == "en":
                h.tap("set_language", "en")

        setup()
        card_visit(h, shot, reader)
        h.app.act("cancel")
        h.settle()
        setup()
        no_card_visit(h, shot)
        setup()
        ask_staff_visit(h, shot)
    h.stop()
    print(f"walkthrough: {len(written)} screenshots in {out}")
    return 0
