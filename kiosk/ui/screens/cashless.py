"""The seam for cashless payment: the payment package's widget is shown here.

`app.payment` (a `kiosk.ui.ports.CashlessPayment`) is asked for a widget with the fee
and a reference; it calls `done(paid)` on the UI thread when the payment ends.
"""

from __future__ import annotations

from typing import Any

from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen


class CashlessScreen(KioskScreen):
    step = Step.CASHLESS
    title = "キャッシュレスでのお支払い"

    def refresh(self, app: Any, s: Session) -> None:
        host = self.ids.host
        if host.children:
            return
        payment = getattr(app, "payment", None)
        if payment is None:
            return
        widget = payment.start(s.fee(), f"kiosk-{s.touches}",
                               lambda paid: app.act("payment_finished", bool(paid)))
        host.add_widget(widget)

    def on_leave(self, *args: Any) -> None:
        self.ids.host.clear_widgets()
