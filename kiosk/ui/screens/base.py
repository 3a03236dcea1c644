"""The base of every resident screen: one screen = one .py + one .kv of the same name."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from kivy.lang import Builder
from kivy.uix.screenmanager import Screen

from kiosk.domain.session import Session, Step


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

    def notice_text(self, app: Any, s: Session) -> str:
        if s.notice is None:
            return ""
        return str(app.tr(s.notice.msgid, **dict(s.notice.params)))
