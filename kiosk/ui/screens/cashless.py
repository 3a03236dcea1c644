"""The seam for cashless payment: the payment package's widget is shown here.

The ticket is issued before this screen (a payment is recorded against a ticket, so a
failed payment never loses it). `app.payment` (a `kiosk.ui.ports.CashlessPayment`) is
asked for a widget with the fee and the ticket's reference ("ticket:<back-office id>");
it calls `done(paid)` on the UI thread; not paid → the fee is paid at the counter.
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
        reference = (s.ticket.reference if s.ticket else None) or "kiosk:unknown"
        widget = payment.start(s.fee(), reference,
                               lambda paid: app.act("payment_finished", bool(paid)))
        host.add_widget(widget)

    def on_leave(self, *args: Any) -> None:
        self.ids.host.clear_widgets()
