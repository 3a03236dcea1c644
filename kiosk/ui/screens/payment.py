from __future__ import annotations

from typing import Any

from kiosk.domain.session import PayMethod, Session, Step
from kiosk.ui.screens.base import KioskScreen


class PaymentScreen(KioskScreen):
    step = Step.PAYMENT
    title = "お支払い方法"

    def refresh(self, app: Any, s: Session) -> None:
        self.ids.fee.text = app.tr("手数料 {fee}円", fee=f"{s.fee():,}")
        # One choice (issue #17): QR code / terminal / at the counter, never asked again.
        offered = s.payment_choices()
        for method in (PayMethod.CODE, PayMethod.TERMINAL):
            button = self.ids[method.value]
            button.disabled = method not in offered
            button.opacity = 1 if method in offered else 0
            button.size_hint_x = 1 if method in offered else 0.001
        self.ids.notice.text = self.notice_text(app, s)
