"""How the fee is paid, chosen ONCE: a QR code or the terminal now, or at the counter
(the choices the domain offers: `Session.payment_choices`)."""

from __future__ import annotations

from typing import Any

from kiosk.configfile import ASSETS_DIR
from kiosk.domain.session import PayMethod, Session, Step
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import ActIconButton

IMAGES = ASSETS_DIR / "images"


def choice(app: Any, method: PayMethod) -> tuple[str, str]:
    """(the button's words, its pictogram) for a way to pay."""
    if method is PayMethod.CODE:
        return app.tr("いまQRコードで支払う（スマートフォン決済）"), "cashless.png"
    if method is PayMethod.TERMINAL:
        return app.tr("いま決済端末で支払う（カード・電子マネー）"), "cashless.png"
    if method is PayMethod.CASHLESS:
        return app.tr("いまキャッシュレスで支払う"), "cashless.png"
    return app.tr("窓口で支払う（現金・キャッシュレス）"), "counter.png"


class PaymentScreen(KioskScreen):
    step = Step.PAYMENT
    title = "お支払い方法"

    def refresh(self, app: Any, s: Session) -> None:
        self.ids.fee.text = app.tr("手数料 {fee}円", fee=f"{s.fee():,}")
        self.ids.notice.text = self.notice_text(app, s)
        choices = s.payment_choices()
        key = (choices, s.language, s.large_text)
        if getattr(self, "_built", None) == key:
            return
        self._built = key
        box = self.ids.choices
        box.clear_widgets()
        for method in choices:
            text, icon = choice(app, method)
            box.add_widget(ActIconButton(
                text=text, icon=str(IMAGES / icon), action=["choose_payment",
                                                                    method.value],
                kind="primary" if method is PayMethod.COUNTER else "normal"))
