"""The base of every resident screen: one screen = one .py + one .kv of the same name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from kivy.lang import Builder
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from kiosk.domain.session import Session, Step

_MARKUP = re.compile(r"\[/?[a-z]+(=[^\]]*)?\]")


class KioskScreen(Screen):
    step: ClassVar[Step]
    title: ClassVar[str] = ""   # Japanese msgid of the header title
    kv: ClassVar[str] = ""

    @classmethod
    def load_kv(cls) -> None:
        path = Path(__file__).with_name(f"{cls.kv or cls.step.value}.kv")
        if str(path) not in Builder.files:
            Builder.load_file(str(path))

    def refresh(self, app: Any, s: Session) -> None:
        """Show the session's state; called on every change."""

    def clear(self) -> None:
        """Forget what was shown (personal data) when the visit ends."""

    def spoken(self, app: Any, s: Session, everything: bool = False) -> list[str]:
        """What the voice says for this screen (kiosk.ui.guidance): the title and the words
        shown, in reading order. Buttons and a form's rows (personal data, in a FormScroll)
        only when `everything`: read aloud on the resident's request, never unasked."""
        from kiosk.ui.widgets import FormScroll
        lines = [str(app.tr(self.title))] if self.title else []

        def visit(w: Any) -> None:
            if w.opacity == 0 or (not everything and (w.disabled or isinstance(
                    w, ButtonBehavior | FormScroll))):
                return
            text = _MARKUP.sub("", str(w.text)).strip() if isinstance(w, Label) else ""
            if text and text not in lines:
                lines.append(text)
            for child in reversed(w.children):   # Kivy keeps children last-added first
                visit(child)

        visit(self)
        return lines

    def notice_text(self, app: Any, s: Session) -> str:
        if s.notice is None:
            return ""
        return str(app.tr(s.notice.msgid, **dict(s.notice.params)))
