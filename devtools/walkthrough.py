"""The scripted resident visits behind `python -m devtools --headless --walkthrough DIR`:
every screen of a card visit (with a wrong PIN), a no-card visit, an "ask staff" visit
and a life-event visit (転入 with three procedures), one PNG each, touched through the
real widgets, each tap once the screen it is meant for is up; with a payment port (the
demo's: devtools/kiosk_demo.py) also a card visit paid by QR code. With `all_modes` it repeats
in large text, high contrast and English (docs/screens is made this way: scripts/kiosk_screens)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.domain.session import PayMethod
from kiosk.ui.ports import KioskDevices
from kiosk.ui.settings import UiConfig

log = logging.getLogger(__name__)

MODES: dict[str, tuple[str, ...]] = {
    "default": (),
    "large": ("large_text",),
    "contrast": ("high_contrast",),
    "en": (),
}


def put_card(h: Any, reader: Any) -> None:
    from devtools.standins import StandInCard
    reader.place(StandInCard())
    h.app._tick()  # the card watch runs every 0.25 s; do not wait for it
    h.settle()


def on(h: Any, step: str, *action: Any) -> None:
    """Tap `action` once the kiosk shows `step`: under load a card read or an issue
    may still be running, and a tap meant for the next screen would land on this one
    (it tapped "finish" while still on confirm)."""
    session = h.app.controller.session
    wait_for(h, lambda: session.step.value == step and not h.app.controller.busy,
             f"{step} screen (still at {session.step.value})")
    h.tap(*action)


def card_visit(h: Any, shot: Any, reader: Any) -> None:
    reader.remove()
    shot("01-welcome")
    on(h, "welcome", "start")
    shot("02-procedure")
    on(h, "procedure", "choose_procedure", "juminhyo")
    shot("03-identity")
    on(h, "identity", "choose_card")
    shot("04-card")
    put_card(h, reader)
    wait_for(h, lambda: h.app.controller.session.step.value == "pin", "PIN screen")
    shot("05-pin")
    h.keys("1235")
    on(h, "pin", "take_pin")
    wait_for(h, lambda: not h.app.controller.busy, "PIN check")
    shot("06-pin-wrong")
    h.keys("1234")
    on(h, "pin", "take_pin")
    wait_for(h, lambda: h.app.controller.session.step.value == "confirm", "card read")
    shot("07-confirm")
    on(h, "confirm", "set_count", "copies", 1)
    on(h, "confirm", "confirm")
    shot("08-payment")
    on(h, "payment", "choose_payment", PayMethod.COUNTER)
    wait_for(h, lambda: h.app.controller.session.step.value == "ticket", "ticket")
    shot("09-ticket")
    on(h, "ticket", "finish")
    shot("10-thanks")


def life_event_visit(h: Any, shot: Any, reader: Any) -> None:
    """A 転入 with three procedures (devtools.life_script.TENNYU_THREE): the event, one
    question per screen, the list, one card read, the address typed once, the one
    review, the routed ticket (issue #17). A desk that cannot issue routed tickets (a
    back-office without them) ends it at the review, with its shots taken."""
    from datetime import date

    from devtools.life_script import NEW_ADDRESS, key_presses
    session = h.app.controller.session
    reader.remove()
    on(h, "welcome", "start")
    on(h, "procedure", "choose_life_events")
    shot("20-life-event")
    on(h, "event", "choose_event", "tennyu")
    shot("21-life-question")
    for answer in ("no", "no", "いない", "1人", "no"):
        on(h, "question", "answer", answer)
    shot("22-life-plan")
    on(h, "plan", "accept_plan")
    on(h, "identity", "choose_card")
    put_card(h, reader)
    wait_for(h, lambda: session.step.value == "pin", "PIN screen")
    h.keys("1234")
    on(h, "pin", "take_pin")
    wait_for(h, lambda: session.step.value == "entry", "the first field no card holds")
    for key in key_presses(NEW_ADDRESS):
        h.tap("entry_press", key)
    shot("23-life-entry")
    on(h, "entry", "entry_done")
    while session.step.value == "entry":       # the other fields: dates today, once each
        on(h, "entry", "entry_done", date.today().isoformat())
    shot("24-life-review")
    on(h, "confirm", "confirm")
    if session.step.value == "payment":
        on(h, "payment", "choose_payment", PayMethod.COUNTER)
    wait_for(h, lambda: session.step.value in ("ticket", "confirm")
             and not h.app.controller.busy, "routed ticket")
    if session.step.value == "ticket":
        shot("25-life-ticket")
    else:
        log.warning("walkthrough: no routed ticket from this desk (%s)",
                    session.notice.msgid if session.notice else "?")
    h.app.act("cancel")
    h.settle()


def no_card_visit(h: Any, shot: Any) -> None:
    h.tap("start")
    h.tap("choose_procedure", "shotoku")
    h.tap("choose_no_card")
    shot("11-entry-kana")
    h.keys("さかい")
    h.tap("entry_press", "\u3000")
    h.keys("はなこ")
    shot("12-entry-name")
    h.tap("entry_done")
    h.keys("さかいし")
    h.tap("entry_done")
    shot("13-entry-digits")
    h.keys("19850307")
    h.tap("entry_done")
    h.keys("2024")
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


def wait_for(h: Any, done: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Frames until `done()` (the payment runs on its own thread and the network)."""
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            raise RuntimeError(f"walkthrough: no {what} within {timeout:.0f} s")
        h.pump()
        time.sleep(0.02)
    h.pump(2)


def cashless_visit(h: Any, shot: Any, reader: Any, pay: Callable[[int], None]) -> int:
    """A card visit paid at the kiosk by QR code: the one choice, the code, the paid ticket.
    `pay(payment_id)` makes the provider (stand-in) take the resident's scan."""
    from kiosk.domain.session import Step
    from kiosk.payment.flow import Screen
    reader.remove()
    h.tap("start")
    h.tap("choose_procedure", "juminhyo")
    h.tap("choose_card")
    put_card(h, reader)
    h.keys("1234")
    h.tap("take_pin")
    h.tap("confirm")
    shot("17-cashless-choose")  # the payment screen: QR code / terminal / counter
    h.tap("choose_payment", PayMethod.CODE)
    payment = h.app.payment
    wait_for(h, lambda: payment.flow is not None, "payment screen")
    flow = payment.flow
    wait_for(h, lambda: flow.view.screen is Screen.SHOW_CODE, "payment code")
    shot("18-cashless-code")
    pay(flow.view.payment_id)
    session = h.app.controller.session
    wait_for(h, lambda: session.step is Step.TICKET, "paid ticket")
    paid = int(session.paid)
    shot("19-ticket-paid")
    h.app.act("cancel")
    h.settle()
    return paid


def run_walkthrough(out: Path, cfg: UiConfig, *, all_modes: bool = False,
                    scale: float = 0.5, devices: KioskDevices | None = None,
                    hands: Any = None, pay: Callable[[int], None] | None = None) -> int:
    """`hands` puts the card on and off the reader (default: the stand-in reader itself);
    `pay` pays a code as the resident's phone would (the demo's provider stand-in)."""
    from devtools.harness import Harness
    from devtools.standins import InProcessPrinter, LocalDesk, StandInReader
    from kiosk.ui.app import build_app
    from kiosk.ui.controller import run_now

    if devices is None:
        devices = KioskDevices(reader=StandInReader(), printer=InProcessPrinter(),
                               desk=LocalDesk(online=True))
    devices = dataclasses.replace(devices, runner=run_now)
    reader = hands or devices.reader
    app = build_app(cfg, devices)
    h = Harness(app).start()
    written: list[Path] = []
    tickets: list[bool] = []  # per ticket screen shot: was the status-page QR on it?
    paid = 0
    modes = MODES if all_modes else {"default": ()}
    for mode, toggles in modes.items():
        folder = out / mode if all_modes else out

        def shot(name: str, folder: Path = folder) -> None:
            if "ticket" in name:
                qr = h.app.root.ids.sm.current_screen.ids.get("qr")
                tickets.append(qr is not None and qr.texture is not None and qr.opacity > 0)
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
        setup()
        life_event_visit(h, shot, reader)
        if h.app.payment is not None and pay is not None:
            setup()
            paid += cashless_visit(h, shot, reader, pay)
    h.stop()
    print(f"walkthrough: {len(written)} screenshots in {out}; the status-page QR on "
          f"{sum(tickets)} of {len(tickets)} ticket screens; {paid} paid by code", flush=True)
    return 0
