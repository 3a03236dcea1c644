"""Maintainer exit: five taps on the top-left corner, then the maintainer PIN — this
kiosk's own, provisioned (kiosk.ui.maintainer_gate: hash, lock after five wrong tries,
attempts reported). Nothing else closes the app; a kiosk without a provisioned PIN has
no maintainer exit at all."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView

from kiosk.ui.widgets import DIGIT_KEYS, KButton, KeyGrid

log = logging.getLogger(__name__)


def _locked_text(app: Any) -> str:
    until = datetime.fromtimestamp(app.maintainer.locked_until).strftime("%H:%M")
    return f"ロック中（{until} まで） / locked until {until}"


def open_exit_dialog(app: Any) -> ModalView | None:
    gate = app.maintainer
    if not gate.available:
        log.warning("maintainer exit asked for, but no maintainer PIN is provisioned on "
                    "this kiosk")
        return None
    view = ModalView(size_hint=(0.5, 0.8), auto_dismiss=True, background_color=app.col["bg"])
    box = BoxLayout(orientation="vertical", spacing=app.target * 0.2, padding=app.target * 0.3)
    entered: list[str] = []
    dots = Label(text="", font_name="BIZUD", font_size=app.fs * 1.5, color=app.col["fg"],
                 size_hint_y=None, height=app.target * 1.2)
    status = Label(text=_locked_text(app) if gate.locked() else "", font_name="BIZUD",
                   font_size=app.fs * 0.8, color=app.col["fg"], size_hint_y=None,
                   height=app.target * 0.8)
    pad = KeyGrid(cols=3)

    def key(k: str) -> None:
        if len(entered) < 12:
            entered.append(k)
        dots.text = "●" * len(entered)

    def ok(*_: Any) -> None:
        pin = "".join(entered)
        entered.clear()
        dots.text = ""
        outcome = gate.attempt(pin)
        if outcome == "ok":
            view.dismiss()
            app.stop()
        elif gate.locked():
            status.text = _locked_text(app)
        else:
            status.text = f"PIN が違います（あと {gate.tries_left()} 回） / wrong PIN"

    pad.on_key = key
    pad.build(DIGIT_KEYS)
    enter = KButton(text="OK", kind="primary", size_hint_y=None, height=app.target * 1.3,
                    action=["maintainer_ok"])
    enter.bind(on_release=ok)
    box.add_widget(status)
    box.add_widget(dots)
    box.add_widget(pad)
    box.add_widget(enter)
    view.add_widget(box)
    view.open()
    app.maintainer_view = view
    app.maintainer_status = status
    return view
