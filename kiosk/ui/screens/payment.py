from __future__ import annotations

from typing import Any

from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen


class PaymentScreen(KioskScreen):
    step = Step.PAYMENT
    title = "お支払い方法"

    def refresh(self, app: Any, s: Session) -> None:
        self.ids.fee.text = app.tr("手数料 {fee}円", fee=f"{s.fee():,}")
        self.ids.cashless.disabled = not s.settings.cashless
        self.ids.cashless.opacity = 1 if s.settings.cashless else 0
        self.ids.notice.text = self.notice_text(app, s)
