"""The kiosk's payment widget and the `kiosk.ui.ports.CashlessPayment` port over it.

The cashless screen asks the port for a widget; the widget lets the resident pick how to
pay (code / terminal / counter), renders `PaymentFlow.view` (QR + amount + countdown, or
"follow the terminal"), offers cancel, and calls `done(paid)` on the UI thread when the
payment has ended. Imports Kivy: only the kiosk UI imports this module.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Line
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

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
from kiosk.payment.terminal import PaymentTerminal, open_terminal

log = logging.getLogger(__name__)

FONT = str(ASSETS_DIR / "fonts" / "BIZUDGothic-Regular.ttf")
RGBA = Sequence[float]


def ticket_id_of(reference: str) -> int | None:
    """The back-office ticket id in a reference ``ticket:1234`` (or ``1234``)."""
    tail = reference.removeprefix("ticket:")
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class PaymentLook:
    """How the host screen draws: its font, body text size and smallest touch target in
    pixels, and its colours. The kiosk passes its own (large text, high contrast, the
    language's font, 15 mm at the panel's DPI); the defaults are Kivy's plain look."""

    font_name: str = FONT
    font_px: float = 28.0
    target_px: float = 60.0
    fg: RGBA = (1.0, 1.0, 1.0, 1.0)
    button: RGBA = (0.35, 0.35, 0.35, 1.0)
    button_fg: RGBA = (1.0, 1.0, 1.0, 1.0)
    primary: RGBA = (0.1, 0.3, 0.65, 1.0)
    primary_fg: RGBA = (1.0, 1.0, 1.0, 1.0)


class PaymentButton(Button):
    """A button of the payment screen: its text is a msgid (re-translated on a language
    switch); `primary` ones (the ways to pay) are filled, the others outlined."""

    def __init__(self, msgid: str, primary: bool, **kwargs: Any) -> None:
        super().__init__(background_normal="", background_down="", halign="center",
                         valign="middle", **kwargs)
        self.msgid = msgid
        self.primary = primary
        self._inset = 0.0
        with self.canvas.after:
            self._edge_color = Color(0, 0, 0, 0)
            self._edge = Line(width=2)
        self.bind(pos=self._layout, size=self._layout)

    def _layout(self, *_: Any) -> None:
        self._edge.rounded_rectangle = (self.x + 1, self.y + 1, self.width - 2,
                                        self.height - 2, 8)
        self.text_size = (max(self.width - self._inset, 1), None)  # long words wrap

    def one_line_width(self) -> float:
        """The width of its words on one line, at its font and size, plus the inset."""
        width, _h = CoreLabel(font_name=self.font_name, font_size=self.font_size
                              ).get_extents(self.text)
        return float(width) + self._inset

    def restyle(self, look: PaymentLook) -> None:
        self.font_name = look.font_name
        self.font_size = look.font_px
        self.background_color = list(look.primary if self.primary else look.button)
        self.color = list(look.primary_fg if self.primary else look.button_fg)
        self._edge_color.rgba = (0, 0, 0, 0) if self.primary else list(look.button_fg)
        self._inset = look.font_px * 0.6
        self.size_hint_min = (look.target_px, look.target_px)
        self._layout()


class PaymentWidget(BoxLayout):
    """The choice of method, then the code (beside its texts, so it stays large in the
    low-reach and large-text layouts) or the terminal's guidance, with the buttons below."""

    def __init__(self, flow: PaymentFlow, methods: tuple[PaymentMethod, ...], amount_yen: int,
                 done: Callable[[bool], None], tr: Callable[..., str],
                 linger_s: float = 2.0, look: PaymentLook | None = None,
                 start_with: PaymentMethod | None = None, **kwargs: Any) -> None:
        super().__init__(orientation="vertical", **kwargs)
        self.flow = flow
        self.done = done
        self.tr = tr
        self.linger_s = linger_s
        self.look = look or PaymentLook()
        self._reported = False
        self._shown_payload = ""
        self._message_id = CHOOSE
        self._amount_yen = amount_yen
        self.message = Label(halign="center", valign="middle", size_hint_y=None)
        self.amount = Label(halign="center", size_hint_y=None)
        self.countdown = Label(halign="center", size_hint_y=None)
        for label in (self.message, self.amount, self.countdown):
            label.bind(width=self._wrap, texture_size=self._fit)
        self.code = Image(fit_mode="contain", opacity=0, size_hint_x=None, width=0)
        texts = BoxLayout(orientation="vertical")
        for part in (Widget(), self.message, self.amount, self.countdown, Widget()):
            texts.add_widget(part)
        self.body = BoxLayout()
        self.body.add_widget(self.code)
        self.body.add_widget(texts)
        self.body.bind(size=lambda *_: self._size_code())
        self.buttons = GridLayout(cols=1, size_hint_y=None)
        self.buttons.bind(width=self._fit_buttons)
        self.add_widget(self.body)
        self.add_widget(self.buttons)
        flow.on_change = lambda view: Clock.schedule_once(lambda _dt: self.render(view))
        self._tick = Clock.schedule_interval(lambda _dt: self._count(), 0.5)
        self.restyle(self.look, force=True)
        self.choose(methods)
        if start_with is not None:  # chosen on the kiosk's payment screen already
            flow.start(start_with.value)

    # --- the look ------------------------------------------------------------------------
    def restyle(self, look: PaymentLook, *, force: bool = False) -> None:
        """Follow the host's font, text size, touch target and colours (a mode switch)."""
        if look == self.look and not force:
            return  # unchanged: re-rendering every label would cost a frame for nothing
        self.look = look
        self.spacing = self.body.spacing = self.buttons.spacing = look.target_px * 0.25
        self.padding = look.target_px * 0.3
        for label, scale in ((self.message, 1.0), (self.amount, 1.45), (self.countdown, 0.8)):
            label.font_name = look.font_name
            label.font_size = look.font_px * scale
            label.color = list(look.fg)
        for b in self.buttons.children:
            if isinstance(b, PaymentButton):
                b.restyle(look)
        self._fit_buttons()

    def _wrap(self, label: Label, width: float) -> None:
        label.text_size = (width, None)

    def _fit(self, label: Label, size: tuple[float, float]) -> None:
        label.height = max(size[1], label.font_size * 1.4)

    def _fit_buttons(self, *_: Any) -> None:
        """One row when every button's words fit on one line, else two rows of wider
        buttons (a label broken before its last character reads badly); each row at
        least the touch target and high enough for wrapped words."""
        grid = self.buttons
        buttons = [b for b in grid.children if isinstance(b, PaymentButton)]
        n = max(len(buttons), 1)
        gap = self.look.target_px * 0.25

        def fit(cols: int) -> bool:
            each = (grid.width - gap * (cols - 1)) / cols
            return all(b.one_line_width() <= each for b in buttons)

        cols = n if n == 1 or fit(n) else math.ceil(n / 2)
        rows = math.ceil(n / cols)
        if grid.cols != cols:
            grid.cols = cols
        tallest = max((b.texture_size[1] for b in buttons), default=0)
        row = max(self.look.target_px * 1.5, tallest + self.look.font_px * 1.2)
        grid.height = row * rows + gap * (rows - 1)

    def _size_code(self) -> None:
        shown = self.code.opacity > 0
        self.code.width = min(self.body.height, self.body.width * 0.5) if shown else 0

    def retranslate(self, tr: Callable[..., str]) -> None:
        """Another language mid-payment: every text again, nothing else changes."""
        self.tr = tr
        self.message.text = tr(self._message_id)
        self.amount.text = tr(AMOUNT, amount=f"{self._amount_yen:,}")
        for b in self.buttons.children:
            if isinstance(b, PaymentButton):
                b.text = tr(b.msgid)
        self._count()

    # --- the steps -----------------------------------------------------------------------
    def _button(self, msgid: str, action: Callable[[], None], primary: bool) -> Button:
        b = PaymentButton(msgid, primary, text=self.tr(msgid))
        b.bind(on_release=lambda *_: action(), texture_size=self._fit_buttons)
        b.restyle(self.look)
        self.buttons.add_widget(b)
        self._fit_buttons()
        return b

    def _say(self, msgid: str) -> None:
        self._message_id = msgid
        self.message.text = self.tr(msgid)

    def choose(self, methods: tuple[PaymentMethod, ...]) -> None:
        self._say(CHOOSE)
        self.amount.text = self.tr(AMOUNT, amount=f"{self._amount_yen:,}")
        self._show_code(False)
        self.buttons.clear_widgets()
        for method in methods:
            self._button(METHOD_LABELS[method], self._starter(method), primary=True)
        self._button(BACK, lambda: self._finish(False), primary=False)

    def _starter(self, method: PaymentMethod) -> Callable[[], None]:
        return lambda: self.flow.start(method.value)

    def _show_code(self, shown: bool) -> None:
        self.code.opacity = 1 if shown else 0
        self._size_code()

    def render(self, view: FlowView) -> None:
        self._say(view.message)
        if view.amount_yen:
            self._amount_yen = view.amount_yen
            self.amount.text = self.tr(AMOUNT, amount=f"{view.amount_yen:,}")
        if view.screen is Screen.SHOW_CODE and view.qr_payload != self._shown_payload:
            self.code.texture = qr_texture(view.qr_payload)
            self._shown_payload = view.qr_payload
        self._show_code(view.screen is Screen.SHOW_CODE)
        self._count()  # the time left from the first frame the code is on, not 0.5 s later
        self.buttons.clear_widgets()
        if view.can_cancel:
            self._button(CANCEL, self.flow.cancel, primary=False)
        self._fit_buttons()
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


class PaymentNotice(Label):
    """What shows instead of the payment when there is nothing to charge against yet."""

    def __init__(self, msgid: str, tr: Callable[..., str], **kwargs: Any) -> None:
        super().__init__(halign="center", valign="middle", **kwargs)
        self.msgid = msgid
        self.bind(size=lambda w, s: setattr(w, "text_size", s))
        self.retranslate(tr)
        self.restyle(PaymentLook())

    def restyle(self, look: PaymentLook, *, force: bool = False) -> None:
        self.font_name, self.font_size, self.color = look.font_name, look.font_px, list(look.fg)

    def retranslate(self, tr: Callable[..., str]) -> None:
        self.text = tr(self.msgid)


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
        terminal = open_terminal(t)

        def resolve(reference: str) -> int | None:
            found = ticket_id_of(reference)
            return found if found is not None else link.ticket_id(reference)

        return cls(client, terminal, cfg.methods, poll_seconds=cfg.kiosk.poll_seconds,
                   resolve_ticket=resolve, language=language)

    def start(self, amount_yen: int, reference: str, done: object,
              method: str | None = None) -> object:
        report: Callable[[bool], None] = done  # type: ignore[assignment]
        tr = translator(self.language, I18N_DOMAIN)
        ticket_id = self.resolve_ticket(reference)
        if ticket_id is None:
            # No ticket on the back-office yet: nothing can be charged against it.
            log.warning("cashless payment without a back-office ticket (%s)", reference)
            notice = PaymentNotice(MESSAGES[Screen.AT_COUNTER], tr)
            Clock.schedule_once(lambda _dt: report(False), 2.0)
            return notice
        self.flow = PaymentFlow(self.client, self.terminal, ticket_id,
                                poll_seconds=self.poll_seconds)
        chosen = next((m for m in self.methods if m.value == method), None)
        return PaymentWidget(self.flow, self.methods, amount_yen, report, tr, start_with=chosen)

    def cancel(self) -> None:
        if self.flow is not None:
            self.flow.cancel()
