"""The seam for cashless payment: the payment package's widget is shown here.

The ticket is issued before this screen (a payment is recorded against a ticket, so a
failed payment never loses it). `app.payment` (a `kiosk.ui.ports.CashlessPayment`) is
asked for a widget with the fee and the ticket's reference ("ticket:<back-office id>");
it calls `done(paid)` on the UI thread; not paid → the fee is paid at the counter.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.layout import Layout
from kivy.uix.widget import Widget

from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen


def theme_widget(app: Any, widget: Widget) -> None:
    """The payment package's plain Kivy labels and buttons in the kiosk's palette and
    font (Kivy's defaults are white text: unreadable on the kiosk's light screens, and
    the payment font lacks Hangul/Chinese/Vietnamese)."""
    for w in widget.walk(restrict=True):
        if isinstance(w, Button):
            w.background_normal = w.background_down = ""
            w.background_color = app.col["primary"]
            w.color = app.col["primary_fg"]
            w.font_name = app.font
        elif isinstance(w, Label):
            w.color = app.col["fg"]
            w.font_name = app.font


class CashlessScreen(KioskScreen):
    step = Step.CASHLESS
    title = "キャッシュレスでのお支払い"

    _for: object = None  # the ticket the shown payment is for

    def refresh(self, app: Any, s: Session) -> None:
        host = self.ids.host
        if host.children and self._for is s.ticket:
            return
        self.clear()
        payment = getattr(app, "payment", None)
        if payment is None:
            return
        reference = (s.ticket.reference if s.ticket else None) or "kiosk:unknown"
        if hasattr(payment, "language"):  # the payment screens in the resident's language
            payment.language = s.language
        ticket = self._for = s.ticket

        def done(paid: bool) -> None:
            # A result that arrives after the visit moved on (timeout) changes nothing.
            if s.step is Step.CASHLESS and s.ticket is ticket:
                app.act("payment_finished", bool(paid))

        widget = payment.start(s.fee(), reference, done)
        host.add_widget(widget)
        theme_widget(app, widget)
        for part in widget.walk(restrict=True):  # buttons are remade as the payment moves on
            if isinstance(part, Layout):
                part.bind(children=lambda *_: theme_widget(app, widget))

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
