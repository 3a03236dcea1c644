"""Widgets for the resident screens: big buttons, icon buttons, the PIN pad (dots, never
digits), the kana keyboard, the number pad and the choice list.

Every touchable widget is at least `app.target` pixels (15 mm at the configured DPI) in
both directions; the tests measure them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from kivy.app import App
from kivy.graphics import BindTexture, StencilPop, StencilPush, StencilUnUse, StencilUse
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView

from kiosk.domain import kana


class TightText:
    """Draws only the columns of a label's texture that hold text (kiosk.kv's <-KLabel>
    and <-KButton> rules). Kivy makes the texture as wide as `text_size` to bake the
    alignment in, so a short text in a wide label is mostly transparent pixels, and
    software GL blends every one of them."""

    text_region = ObjectProperty(None, allownone=True)
    text_offset = NumericProperty(0)  # x of text_region inside the whole texture
    # of the Label it is mixed into
    _label: Any
    halign: str
    font_size: float
    padding: list[float]

    def on_texture(self, instance: Any, texture: Any) -> None:
        if texture is None:
            self.text_region = None
            return
        x0, x1 = self._text_columns(texture.width)
        self.text_offset = x0
        self.text_region = texture.get_region(x0, 0, x1 - x0, texture.height)

    def _text_columns(self, width: int) -> tuple[int, int]:
        lines = getattr(self._label, "_cached_lines", None)
        if not lines or self.halign not in ("left", "center", "right"):
            return 0, width
        text = max(line.w for line in lines)
        slack = int(self.font_size * 0.25) + 2  # glyphs may overhang their advance
        pad_left, _, pad_right, _ = self.padding
        start = {"left": pad_left, "center": (width - text + pad_left - pad_right) / 2,
                 "right": width - pad_right - text}[self.halign]
        x0 = max(0, int(start) - slack)
        return x0, min(width, max(x0 + 1, int(start + text) + slack))


@functools.cache
def solid() -> Any:
    """A white 1×1 texture sampled nearest, for plain fills (kiosk.kv): software GL
    fills with it noticeably faster than with Kivy's default, filtered texture."""
    from kivy.graphics.texture import Texture
    texture = Texture.create(size=(1, 1), colorfmt="rgba")
    texture.blit_buffer(b"\xff" * 4, colorfmt="rgba")
    texture.mag_filter = texture.min_filter = "nearest"
    return texture


class KLabel(TightText, Label):
    """A text of the kiosk (kiosk.kv: font, size and colour from the app)."""


class KButton(TightText, Button):
    """A button of the kiosk: kind = normal | primary | danger."""

    kind = StringProperty("normal")
    icon = StringProperty("")
    selected = BooleanProperty(False)
    action = ListProperty([])  # for tests and logs: what it does
    text_at = NumericProperty(0.5)  # where the words are, as a fraction of the height


class IconButton(KButton):
    """A big button with a pictogram above its words (procedures, identity choices)."""


class Acts:
    """A button whose release does its `action`, so a button names its action once (in
    its `.kv` rule or where Python builds it): the resident's actions
    (`kiosk.domain.actions`) through the app, or, with `acts_on`, those of a dialog of
    its own (the maintainer's PIN pad), through that dialog's `act(name, *args)`."""

    action: list[Any]
    acts_on = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        (self.acts_on or App.get_running_app()).act(*self.action)


class ActButton(Acts, KButton):
    """A button doing one resident action."""


class ActIconButton(Acts, IconButton):
    """An icon button doing one resident action."""


class KeyGrid(GridLayout):
    """A grid of keys, each doing the grid's `action` with its key (`pin_press '1'`, named
    once in the screen's `.kv` rule); rebuilt when the key set changes."""

    keys = ListProperty([])
    action = StringProperty("")
    acts_on = ObjectProperty(None, allownone=True)

    def build(self, keys: Sequence[str], labels: dict[str, str] | None = None) -> None:
        if list(keys) == list(self.keys) and self.children:
            return
        self.keys = list(keys)
        self.clear_widgets()
        for key in keys:
            if not key:
                self.add_widget(GridSpacer())
                continue
            self.add_widget(ActButton(text=(labels or {}).get(key, key),
                                      action=[self.action, key], acts_on=self.acts_on))


class FormScroll(ScrollView):
    """A ScrollView that clips only while its content is taller than itself: Kivy's
    stencil clip fills the whole area twice a frame, which software GL pays in full."""

    def on_kv_post(self, base_widget: Any) -> None:
        # Kivy's <StencilView> rule: push, mask, use before; unuse, mask, pop after.
        # (A rectangle brings its own BindTexture along when removed or inserted.)
        before, after = ([ins for ins in group.children[:4] if not isinstance(ins, BindTexture)]
                         for group in (self.canvas.before, self.canvas.after))
        assert isinstance(before[0], StencilPush) and isinstance(before[-1], StencilUse)
        assert isinstance(after[0], StencilUnUse) and isinstance(after[-1], StencilPop)
        self._clip = (before, after)
        self._clipping = True
        self.bind(size=self._update_clip, viewport_size=self._update_clip)
        self._update_clip()

    def _update_clip(self, *args: Any) -> None:
        clip = self.viewport_size[1] > self.height or self.viewport_size[0] > self.width
        if clip is self._clipping:
            return
        self._clipping = clip
        for canvas, parts in zip((self.canvas.before, self.canvas.after), self._clip, strict=True):
            for ins in reversed(parts):
                if clip:
                    canvas.insert(0, ins)
                else:
                    canvas.remove(ins)


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
def katakana_keys() -> list[str]:
    """The same grid in カタカナ (the modifiers, digits and 丁目番号 as they are)."""
    return [kana.katakana(k) for k in kana_keys()]


def latin_keys() -> list[str]:
    """Latin capitals as on the 在留カード, the marks such names carry, then digits."""
    return [*kana.LATIN, *kana.LATIN_MARKS, "", *"1234567890"]


DIGIT_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", ""]


def app() -> Any:
    return App.get_running_app()
