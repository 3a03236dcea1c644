from __future__ import annotations

from typing import Any

from kiosk.domain.session import Session, Step
from kiosk.i18n import language
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import ActButton


class WelcomeScreen(KioskScreen):
    step = Step.WELCOME
    title = "区役所 受付"

    def refresh(self, app: Any, s: Session) -> None:
        box = self.ids.languages
        if len(box.children) != len(s.settings.languages):
            box.clear_widgets()
            for code in s.settings.languages:
                b = ActButton(text=language(code).native, action=["set_language", code])
                b.font_name = {"zh-Hans": "WQY", "ko": "WQY", "vi": "WQY"}.get(code, "BIZUD")
                box.add_widget(b)
        for b in box.children:
            b.selected = b.action[1] == s.language
