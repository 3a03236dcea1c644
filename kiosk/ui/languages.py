"""The language picker reachable from every screen; switching keeps the visit."""

from __future__ import annotations

from typing import Any

from kivy.uix.gridlayout import GridLayout
from kivy.uix.modalview import ModalView

from kiosk.i18n import language
from kiosk.ui.widgets import ActButton

FONT = {"zh-Hans": "WQY", "ko": "WQY", "vi": "WQY"}


def open_language_picker(app: Any) -> ModalView:
    s = app.controller.session
    view = ModalView(size_hint=(0.8, 0.5), auto_dismiss=True,
                     background_color=app.col["bg"])
    grid = GridLayout(cols=4, spacing=app.target * 0.3, padding=app.target * 0.4)
    for code in s.settings.languages:
        b = ActButton(text=language(code).native, action=["set_language", code],
                      selected=code == s.language)
        b.font_name = FONT.get(code, "BIZUD")
        b.bind(on_release=lambda _btn: view.dismiss())  # closing is not an action
        grid.add_widget(b)
    view.add_widget(grid)
    view.open()
    app.language_view = view
    return view
