from __future__ import annotations

from typing import Any

from kiosk.domain.session import PIN_LENGTH, Session, Step
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import PIN_KEYS


class PinScreen(KioskScreen):
    step = Step.PIN
    title = "暗証番号（数字4けた）"

    def refresh(self, app: Any, s: Session) -> None:
        pad = self.ids.pad
        pad.build(PIN_KEYS)
        pad.disabled = s.pin_locked
        # Dots only: the digits are never drawn, not even for a moment.
        self.ids.dots.text = "●" * len(s.pin_digits) + "○" * (PIN_LENGTH - len(s.pin_digits))
        self.ids.tries.text = ("" if s.tries_left is None else
                               app.tr("残り{tries}回", tries=s.tries_left))
        self.ids.notice.text = self.notice_text(app, s)
        self.ids.ok.disabled = s.pin_locked or len(s.pin_digits) != PIN_LENGTH
        self.ids.locked_actions.opacity = 1 if s.pin_locked else 0
        self.ids.locked_actions.disabled = not s.pin_locked
        # No PIN on the card (or blocked): the PIN-less way is the way on — make it stand out.
        self.ids.code_b.kind = "primary" if s.tries_left == 0 else "normal"
