from __future__ import annotations

from datetime import date
from typing import Any

from kiosk.domain import kana
from kiosk.domain.catalog import FieldKind
from kiosk.domain.session import EntryMode, Session, Step, entry_mode, field_choices
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import DIGIT_KEYS, ActButton, kana_keys, katakana_keys, latin_keys

KEY_LABELS = {kana.SPACE: "空白"}
LATIN_LABELS = {" ": "空白"}
KEYBOARDS = {"kb_kana": EntryMode.KANA, "kb_katakana": EntryMode.KATAKANA,
             "kb_latin": EntryMode.LATIN}


class EntryScreen(KioskScreen):
    step = Step.ENTRY
    title = "入力してください"

    def clear(self) -> None:
        self.ids.text.text = ""

    def refresh(self, app: Any, s: Session) -> None:
        f = s.entry_field()
        mode = entry_mode(f)
        self.ids.label.text = app.tr(f.label)
        keys = self.ids.keypad
        choices = self.ids.choices
        if mode is EntryMode.CHOICE:
            keys.build([])
            keys.opacity, keys.disabled = 0, True
            choices.clear_widgets()
            for value, label in field_choices(f):
                b = ActButton(text=app.tr(label), action=["entry_done", value],
                              selected=s.values.get(f.key) == value)
                choices.add_widget(b)
            self.ids.text.text = ""
            self.ids.hint.text = app.tr("えらんでください。")
        else:
            choices.clear_widgets()
            keys.opacity, keys.disabled = 1, False
            if mode is EntryMode.DIGITS:
                keys.cols = 3
                keys.size_hint_x = 0.4
                keys.build(DIGIT_KEYS)
                hint = ("年月日を8けたの数字で（例：19850307）" if f.kind is FieldKind.DATE
                        else "年を4けたの数字で（例：2024）")
            else:
                keys.cols = 10
                keys.size_hint_x = 1
                board = s.keyboard
                if board is EntryMode.LATIN:
                    keys.build(latin_keys(), LATIN_LABELS)
                    hint = "在留カードのとおり、ローマ字の大文字で入力してください"
                elif board is EntryMode.KATAKANA:
                    keys.build(katakana_keys(), KEY_LABELS)
                    hint = "カタカナで入力してください"
                else:
                    keys.build(kana_keys(), KEY_LABELS)
                    hint = "ひらがなで入力してください"
            self.ids.hint.text = app.tr(hint)
            self.ids.text.text = s.entry_text or " "
        today = self.ids.today
        dated = f.kind is FieldKind.DATE
        today.action = ["entry_done", date.today().isoformat()] if dated else ["entry_done"]
        today.disabled, today.opacity = not dated, 1 if dated else 0
        today.size_hint_x = 0.15 if dated else 0    # takes no room when not a date
        today.size_hint_min = (app.target, app.target) if dated else (0, 0)
        self.ids.done.disabled = mode is EntryMode.CHOICE
        self.ids.done.opacity = 0 if mode is EntryMode.CHOICE else 1
        self.ids.erase.disabled = mode is EntryMode.CHOICE
        self.ids.erase.opacity = 0 if mode is EntryMode.CHOICE else 1
        text_field = mode is EntryMode.KANA
        for key, board in KEYBOARDS.items():   # only a text field has other keyboards
            b = self.ids[key]
            b.disabled, b.opacity = not text_field, 1 if text_field else 0
            b.selected = text_field and s.keyboard is board
        notice = self.notice_text(app, s)
        if notice:
            self.ids.hint.text = notice
        self.ids.hint.color = app.col["danger"] if notice and not app.high_contrast \
            else app.col["fg"]
        self._streets(app, s)

    def _streets(self, app: Any, s: Session) -> None:
        box = self.ids.streets
        found = tuple(street.name for street in s.streets())
        if tuple(getattr(b, "text", "") for b in reversed(box.children)) == found:
            return
        box.clear_widgets()
        for name in found:   # a street's name is the ward's own: not translated
            box.add_widget(ActButton(text=name, action=["entry_pick", name]))
        box.width = box.parent.width * 0.5 if found else 0   # the hint gives way
