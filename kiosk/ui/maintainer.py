"""Maintainer exit: five taps on the top-left corner, then the maintainer PIN (argon2
hash in config/kiosk.toml [ui] maintainer_pin_hash). Nothing else closes the app."""

from __future__ import annotations

import logging
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView

from kiosk.ui.widgets import DIGIT_KEYS, KButton, KeyGrid

log = logging.getLogger(__name__)


def pin_matches(stored_hash: str, pin: str) -> bool:
    if not stored_hash or not pin:
        return False
    from argon2 import PasswordHasher
    from argon2.exceptions import Argon2Error
    try:
        return bool(PasswordHasher().verify(stored_hash, pin))
    except (Argon2Error, ValueError):
        return False


def hash_pin(pin: str) -> str:
    from argon2 import PasswordHasher
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(pin)


def open_exit_dialog(app: Any) -> ModalView:
    view = ModalView(size_hint=(0.5, 0.8), auto_dismiss=True, background_color=app.col["bg"])
    box = BoxLayout(orientation="vertical", spacing=app.target * 0.2, padding=app.target * 0.3)
    entered: list[str] = []
    dots = Label(text="", font_name="BIZUD", font_size=app.fs * 1.5, color=app.col["fg"],
                 size_hint_y=None, height=app.target * 1.2)
    pad = KeyGrid(cols=3)

    def key(k: str) -> None:
        if len(entered) < 12:
            entered.append(k)
        dots.text = "●" * len(entered)

    def ok(*_: Any) -> None:
        pin = "".join(entered)
        entered.clear()
        dots.text = ""
        if pin_matches(app.cfg.maintainer_pin_hash, pin):
            log.info("maintainer exit")
            view.dismiss()
            app.stop()
        else:
            log.warning("wrong maintainer PIN at the exit dialog")

    pad.on_key = key
    pad.build(DIGIT_KEYS)
    enter = KButton(text="OK", kind="primary", size_hint_y=None, height=app.target * 1.3,
                    action=["maintainer_ok"])
    enter.bind(on_release=ok)
    box.add_widget(dots)
    box.add_widget(pad)
    box.add_widget(enter)
    view.add_widget(box)
    view.open()
    app.maintainer_view = view
    return view
