"""照合番号B: the card opened without its PIN — birth date (era picker), the card's expiry
year and its security code, read off the card face (a picture shows where)."""

from __future__ import annotations

from typing import Any

from kiosk.domain.code_b import ERA_NAMES, CodeBField
from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import DIGIT_KEYS


class CodeBScreen(KioskScreen):
    step = Step.CODE_B
    title = "暗証番号のかわりにカードの表面で確認"

    def refresh(self, app: Any, s: Session) -> None:
        pad = self.ids.pad
        pad.build(DIGIT_KEYS)
        pad.disabled = s.code_b_locked
        entry = s.code_b
        for era in ERA_NAMES:
            button = self.ids[f"era_{ERA_NAMES.index(era)}"]
            button.kind = "primary" if entry.era == era else "normal"
        for part in CodeBField:
            box = self.ids[f"part_{part.value}"]
            digits = entry.digits[part]
            # The security code shows as dots, like a PIN: someone may look over a shoulder.
            box.text = "●" * len(digits) if part is CodeBField.SECURITY else digits
            box.kind = "primary" if entry.focus is part else "normal"
        self.ids.tries.text = ("" if s.code_b_tries is None else
                               app.tr("残り{tries}回", tries=s.code_b_tries))
        self.ids.notice.text = self.notice_text(app, s)
        self.ids.ok.disabled = s.code_b_locked or entry.code() is None
        self.ids.locked_actions.opacity = 1 if s.code_b_locked else 0
        self.ids.locked_actions.disabled = not s.code_b_locked

    def clear(self) -> None:
        for part in CodeBField:
            self.ids[f"part_{part.value}"].text = ""
