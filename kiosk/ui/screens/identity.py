from __future__ import annotations

from typing import Any

from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen


class IdentityScreen(KioskScreen):
    step = Step.IDENTITY
    title = "本人確認の方法"

    def refresh(self, app: Any, s: Session) -> None:
        self.ids.procedure.text = app.tr(s.procedure.name) if s.procedure else ""
        self.ids.notice.text = self.notice_text(app, s)
