"""Widgets for the resident screens: big buttons, icon buttons, the PIN pad (dots, never
digits), the kana keyboard, the number pad and the choice list.

Every touchable widget is at least `app.target` pixels (15 mm at the configured DPI) in
both directions; the tests measure them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout

from kiosk.domain import kana


class KButton(Button):
    """A button of the kiosk: kind = normal | primary | danger."""

    kind = StringProperty("normal")
    icon = StringProperty("")
    selected = BooleanProperty(False)
    action = ListProperty([])  # for tests and logs: what it does


class IconButton(KButton):
    """A big button with a pictogram above its words (procedures, identity choices)."""


class KeyGrid(GridLayout):
    """A grid of keys calling `on_key(key)`; rebuilt when the key set changes."""

    keys = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        self.on_key: Callable[[str], None] = lambda key: None
        super().__init__(**kwargs)

    def build(self, keys: Sequence[str], labels: dict[str, str] | None = None) -> None:
        if list(keys) == list(self.keys) and self.children:
            return
        self.keys = list(keys)
        self.clear_widgets()
        for key in keys:
            if not key:
                self.add_widget(GridSpacer())
                continue
            b = KButton(text=(labels or {}).get(key, key), action=["key", key])
            b.bind(on_release=lambda btn: self.on_key(btn.action[1]))
            self.add_widget(b)


class GridSpacer(Button):
    """An empty, untouchable cell of a key grid."""

    disabled = BooleanProperty(True)


def kana_keys() -> list[str]:
    """The 五十音 grid in rows (あ か さ … across), then the modifier row."""
    columns = list(kana.GOJUON)
    rows = [[col[i] for col in columns] for i in range(5)]
    keys = [("" if ch == "・" else ch) for row in rows for ch in row]
    extra = [kana.DAKUTEN, kana.HANDAKUTEN, kana.SMALL, kana.LONG, kana.SPACE,
             *"1234567890", "－", "丁", "目", "番", "号"]
    return keys + extra


PIN_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", ""]
DIGIT_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", ""]


def app() -> Any:
    return App.get_running_app()
