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

from kiosk.ui.widgets import DIGIT_KEYS, ActButton, KeyGrid

log = logging.getLogger(__name__)


def _locked_text(app: Any) -> str:
    until = datetime.fromtimestamp(app.maintainer.locked_until).strftime("%H:%M")
    return f"ロック中（{until} まで） / locked until {until}"


class ExitDialog:
    """The maintainer's PIN pad. Its buttons act on it (`maintainer_key <digit>`,
    `maintainer_ok`), never on the resident's session: each names its action once."""

    def __init__(self, app: Any, view: ModalView, dots: Label, status: Label) -> None:
        self.app, self.view, self.dots, self.status = app, view, dots, status
        self.entered: list[str] = []

    def act(self, name: str, *args: Any) -> None:
        match name:
            case "maintainer_key":
                self.key(str(args[0]))
            case "maintainer_ok":
                self.ok()
            case _:
                raise ValueError(f"no maintainer action {name!r}")

    def key(self, k: str) -> None:
        if len(self.entered) < 12:
            self.entered.append(k)
        self.dots.text = "●" * len(self.entered)

    def ok(self) -> None:
        gate = self.app.maintainer
        pin = "".join(self.entered)
        self.entered.clear()
        self.dots.text = ""
        outcome = gate.attempt(pin)
        if outcome == "ok":
            self.view.dismiss()
            self.app.stop()
        elif gate.locked():
            self.status.text = _locked_text(self.app)
        else:
            self.status.text = f"PIN が違います（あと {gate.tries_left()} 回） / wrong PIN"


def open_exit_dialog(app: Any) -> ModalView | None:
    gate = app.maintainer
    if not gate.available:
        log.warning("maintainer exit asked for, but no maintainer PIN is provisioned on "
                    "this kiosk")
        return None
    view = ModalView(size_hint=(0.5, 0.8), auto_dismiss=True, background_color=app.col["bg"])
    box = BoxLayout(orientation="vertical", spacing=app.target * 0.2, padding=app.target * 0.3)
    dots = Label(text="", font_name="BIZUD", font_size=app.fs * 1.5, color=app.col["fg"],
                 size_hint_y=None, height=app.target * 1.2)
    status = Label(text=_locked_text(app) if gate.locked() else "", font_name="BIZUD",
                   font_size=app.fs * 0.8, color=app.col["fg"], size_hint_y=None,
                   height=app.target * 0.8)
    dialog = ExitDialog(app, view, dots, status)
    pad = KeyGrid(cols=3, action="maintainer_key", acts_on=dialog)
    pad.build(DIGIT_KEYS)
    enter = ActButton(text="OK", kind="primary", size_hint_y=None, height=app.target * 1.3,
                      action=["maintainer_ok"], acts_on=dialog)
    box.add_widget(status)
    box.add_widget(dots)
    box.add_widget(pad)
    box.add_widget(enter)
    view.add_widget(box)
    view.open()
    app.maintainer_view = view
    app.maintainer_status = status
    return view
