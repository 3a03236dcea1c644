"""The kiosk's payment widget and the `kiosk.ui.ports.CashlessPayment` port over it.

The cashless screen asks the port for a widget; the widget lets the resident pick how to
pay (code / terminal / counter), renders `PaymentFlow.view` (QR + amount + countdown, or
"follow the terminal"), offers cancel, and calls `done(paid)` on the UI thread when the
payment has ended. Imports Kivy: only the kiosk UI imports this module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.image import Image
from kivy.uix.label import Label

from kiosk.configfile import ASSETS_DIR
from kiosk.domain.payment import PaymentMethod
from kiosk.i18n import translator
from kiosk.payment.client import PaymentClient
from kiosk.payment.config import PaymentConfig, load_payment_config
from kiosk.payment.flow import (
    AMOUNT,
    BACK,
    CANCEL,
    CHOOSE,
    I18N_DOMAIN,
    MESSAGES,
    METHOD_LABELS,
    TIME_LEFT,
    FlowView,
    PaymentFlow,
    Screen,
)
from kiosk.payment.qr import qr_texture
from kiosk.payment.terminal import NexoTcpTerminal, PaymentTerminal

log = logging.getLogger(__name__)

FONT = str(ASSETS_DIR / "fonts" / "BIZUDGothic-Regular.ttf")


def ticket_id_of(reference: str) -> int | None:
    """The back-office ticket id in a reference ``ticket:1234`` (or ``1234``)."""
    tail = reference.removeprefix("ticket:")
    return int(tail) if tail.isdigit() else None


class PaymentWidget(BoxLayout):
    def __init__(self, flow: PaymentFlow, methods: tuple[PaymentMethod, ...], amount_yen: int,
                 done: Callable[[bool], None], tr: Callable[..., str],
                 linger_s: float = 2.0, **kwargs: Any) -> None:
        super().__init__(orientation="vertical", spacing=16, padding=24, **kwargs)
        self.flow = flow
        self.done = done
        self.tr = tr
        self.linger_s = linger_s
        self._reported = False
        self._shown_payload = ""
        self.message = Label(font_name=FONT, font_size="28sp", halign="center",
                             size_hint_y=None, height=120)
        self.message.bind(size=lambda w, s: setattr(w, "text_size", (s[0], None)))
        self.amount = Label(font_name=FONT, font_size="40sp", size_hint_y=None, height=70,
                            text=tr(AMOUNT, amount=f"{amount_yen:,}"))
        self.countdown = Label(font_name=FONT, font_size="22sp", size_hint_y=None, height=40)
        self.code = Image(fit_mode="contain", opacity=0)
        self.buttons = BoxLayout(spacing=16, size_hint_y=None, height=110)
        self.add_widget(self.message)
        self.add_widget(self.amount)
        self.add_widget(self.code)
        self.add_widget(self.countdown)
        self.add_widget(self.buttons)
        flow.on_change = lambda view: Clock.schedule_once(lambda _dt: self.render(view))
        self._tick = Clock.schedule_interval(lambda _dt: self._count(), 0.5)
        self.choose(methods)

    def _button(self, text: str, action: Callable[[], None]) -> Button:
        b = Button(text=self.tr(text), font_name=FONT, font_size="26sp")
        b.bind(on_release=lambda *_: action())
        self.buttons.add_widget(b)
        return b

    def choose(self, methods: tuple[PaymentMethod, ...]) -> None:
        self.message.text = self.tr(CHOOSE)
        self.code.opacity = 0
        self.buttons.clear_widgets()
        for method in methods:
            self._button(METHOD_LABELS[method], self._starter(method))
        self._button(BACK, lambda: self._finish(False))

    def _starter(self, method: PaymentMethod) -> Callable[[], None]:
        return lambda: self.flow.start(method.value)

    def render(self, view: FlowView) -> None:
        self.message.text = self.tr(view.message)
        if view.amount_yen:
            self.amount.text = self.tr(AMOUNT, amount=f"{view.amount_yen:,}")
        if view.screen is Screen.SHOW_CODE and view.qr_payload != self._shown_payload:
            self.code.texture = qr_texture(view.qr_payload)
            self._shown_payload = view.qr_payload
        self.code.opacity = 1 if view.screen is Screen.SHOW_CODE else 0
        self.buttons.clear_widgets()
        if view.can_cancel:
            self._button(CANCEL, self.flow.cancel)
        if view.screen.final:
            self._tick.cancel()
            self.countdown.text = ""
            paid = view.screen is Screen.PAID
            Clock.schedule_once(lambda _dt: self._finish(paid), self.linger_s)

    def _count(self) -> None:
        view = self.flow.view
        if view.screen is Screen.SHOW_CODE and view.expires_at:
            left = max(0, int(view.expires_at - time.time()))
            self.countdown.text = self.tr(TIME_LEFT, minutes=left // 60,
                                          seconds=f"{left % 60:02d}")

    def _finish(self, paid: bool) -> None:
        if self._reported:
            return
        self._reported = True
        self._tick.cancel()
        self.done(paid)


class KioskCashless:
    """`kiosk.ui.ports.CashlessPayment` for the kiosk app (docs/payment.md)."""

    def __init__(self, client: PaymentClient, terminal: PaymentTerminal | None,
                 methods: tuple[PaymentMethod, ...], *, poll_seconds: float = 2.0,
                 resolve_ticket: Callable[[str], int | None] = ticket_id_of,
                 language: str = "ja") -> None:
        self.client = client
        self.terminal = terminal
        self.methods = tuple(m for m in methods if m is not PaymentMethod.TERMINAL
                             or terminal is not None)
        self.poll_seconds = poll_seconds
        self.resolve_ticket = resolve_ticket
        self.language = language
        self.flow: PaymentFlow | None = None

    @classmethod
    def from_link(cls, link: Any, config: PaymentConfig | None = None,
                  language: str = "ja") -> KioskCashless:
        """Built on the kiosk's `kiosk.sync.KioskLink`: its back-office endpoint and token,
        and its ticket keys as references (`link.ticket_id(key)` → back-office id)."""
        cfg = config or load_payment_config()
        ep = link.endpoint()
        client = PaymentClient(ep.url, ep.token, timeout_s=cfg.kiosk.request_timeout,
                               verify=ep.verify)
        t = cfg.kiosk.terminal
        terminal = (NexoTcpTerminal(t.host, t.port, sale_id=t.sale_id, timeout_s=t.timeout,
                                    recover_s=t.recover) if t.kind == "nexo" else None)

        def resolve(reference: str) -> int | None:
            found = ticket_id_of(reference)
            return found if found is not None else link.ticket_id(reference)

        return cls(client, terminal, cfg.methods, poll_seconds=cfg.kiosk.poll_seconds,
                   resolve_ticket=resolve, language=language)

    def start(self, amount_yen: int, reference: str, done: object) -> object:
        report: Callable[[bool], None] = done  # type: ignore[assignment]
        tr = translator(self.language, I18N_DOMAIN)
        ticket_id = self.resolve_ticket(reference)
        if ticket_id is None:
            # No ticket on the back-office yet: nothing can be charged against it.
            log.warning("cashless payment without a back-office ticket (%s)", reference)
            label = Label(font_name=FONT, font_size="28sp",
                          text=tr(MESSAGES[Screen.AT_COUNTER]))
            Clock.schedule_once(lambda _dt: report(False), 2.0)
            return label
        self.flow = PaymentFlow(self.client, self.terminal, ticket_id,
                                poll_seconds=self.poll_seconds)
        return PaymentWidget(self.flow, self.methods, amount_yen, report, tr)

    def cancel(self) -> None:
        if self.flow is not None:
            self.flow.cancel()
