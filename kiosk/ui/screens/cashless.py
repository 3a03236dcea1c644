"""The seam for cashless payment: the payment package's widget is shown here.

The ticket is issued before this screen (a payment is recorded against a ticket, so a
failed payment never loses it). `app.payment` (a `kiosk.ui.ports.CashlessPayment`) is
asked for a widget with the fee and the ticket's reference ("ticket:<back-office id>");
it calls `done(paid)` on the UI thread; not paid → the fee is paid at the counter. The
method the resident chose on the payment screen (QR code or terminal) is passed along
and starts at once: the payment is chosen once.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App

from kiosk.domain.session import PayMethod, Session, Step
from kiosk.i18n import translator
from kiosk.payment.flow import I18N_DOMAIN
from kiosk.ui.screens.base import KioskScreen


def look_of(app: Any) -> Any:
    """The kiosk's text scale, touch target, palette and font for the payment widget
    (Kivy's plain labels would be white on the light screens, fixed-size, and the payment
    font lacks Hangul/Chinese/Vietnamese)."""
    from kiosk.payment.widget import PaymentLook
    col = app.col
    return PaymentLook(font_name=app.font, font_px=app.fs, target_px=app.target,
                       fg=tuple(col["fg"]), button=tuple(col["button"]),
                       button_fg=tuple(col["button_fg"]), primary=tuple(col["primary"]),
                       primary_fg=tuple(col["primary_fg"]))


class CashlessScreen(KioskScreen):
    step = Step.CASHLESS
    title = "キャッシュレスでのお支払い"

    _for: object = None  # the ticket the shown payment is for
    _lang = ""           # the language the shown payment speaks

    def refresh(self, app: Any, s: Session) -> None:
        host = self.ids.host
        if host.children and self._for is s.ticket:
            self._follow(app, s, host.children[0])  # a mode or language switch
            return
        self.clear()
        payment = getattr(app, "payment", None)
        if payment is None:
            return
        reference = (s.ticket.reference if s.ticket else None) or "kiosk:unknown"
        if hasattr(payment, "language"):  # the payment screens in the resident's language
            payment.language = s.language
        ticket = self._for = s.ticket
        self._lang = s.language

        def done(paid: bool) -> None:
            # A result that arrives after the visit moved on (timeout) changes nothing.
            if s.step is Step.CASHLESS and s.ticket is ticket:
                app.act("payment_finished", bool(paid))

        # The method chosen on the payment screen starts at once (one choice, not two).
        chosen = s.pay_method.value if s.pay_method in (PayMethod.CODE, PayMethod.TERMINAL) \
            else None
        widget = (payment.start(s.fee(), reference, done, method=chosen) if chosen
                  else payment.start(s.fee(), reference, done))
        host.add_widget(widget)
        self._follow(app, s, widget)

    def _follow(self, app: Any, s: Session, widget: Any) -> None:
        """The payment widget in the kiosk's current look and language (it re-applies
        the look to the buttons it makes as the payment moves on)."""
        if hasattr(widget, "restyle"):
            widget.restyle(look_of(app))
        if s.language != self._lang and hasattr(widget, "retranslate"):
            self._lang = s.language
            widget.retranslate(translator(s.language, I18N_DOMAIN))

    def clear(self) -> None:
        """Left before the payment ended (timeout, はじめから): stop it at the provider or
        terminal; the ticket stands and the counter sees the attempt."""
        payment = getattr(App.get_running_app(), "payment", None)
        flow = getattr(payment, "flow", None)
        if payment is not None and flow is not None and not flow.view.screen.final:
            payment.cancel()
        self.ids.host.clear_widgets()
        self._for = None

    def on_leave(self, *args: Any) -> None:
        self.clear()
