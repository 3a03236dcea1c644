from __future__ import annotations

import io
from typing import Any

from kivy.core.image import Image as CoreImage

from kiosk.domain.session import Session, Step
from kiosk.printing.slip import counter_group
from kiosk.ui.screens.base import KioskScreen


def qr_texture(text: str) -> Any:
    import qrcode
    img = qrcode.make(text, border=2)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    return CoreImage(buf, ext="png").texture


def route_text(app: Any, s: Session) -> str:
    """A routed ticket's stages (the back-office's, or as planned when offline), one line
    each, as the printed ticket has them."""
    t = s.ticket
    if t is None or not t.route:
        return ""
    lines = [app.tr("この順番で窓口へどうぞ")]
    for stage in t.route:
        service = s.catalog.service(stage.service)
        lines.append(app.tr("{seq}. {service} {prefix}（{counter}）", seq=stage.seq,
                            service=app.tr(stage.service_name or service.name),
                            prefix=service.prefix,
                            counter=counter_group(s.ward, stage.service)))
    return "\n".join(lines)


class TicketScreen(KioskScreen):
    step = Step.TICKET
    title = "番号札"

    def clear(self) -> None:
        for key in ("number", "wait", "route", "printed", "qr_label"):
            self.ids[key].text = ""
        self.ids.qr.texture = None

    def refresh(self, app: Any, s: Session) -> None:
        t = s.ticket
        if t is None:
            return
        self.ids.number.text = t.number
        if t.offline or t.people_ahead is None:
            wait = app.tr("ただいま待ち人数と待ち時間をお知らせできません。"
                          "順番にお呼びします。")
        else:
            wait = app.tr("前に{ahead}人　待ち時間の目安 約{minutes}分",
                          ahead=t.people_ahead, minutes=t.wait_minutes or 0)
        if t.assistance:
            wait = app.tr("職員がお手伝いします。番号をお呼びするまでお待ちください。") \
                + "\n" + wait
        self.ids.wait.text = wait
        self.ids.route.text = route_text(app, s)
        if t.printed:
            printed = app.tr("番号札を印刷しました。お取りください。")
            if s.visit is not None:
                printed += "\n" + app.tr("手続き案内票も印刷しました。"
                                          "持ち物とほかの窓口の案内があります。")
        else:
            printed = app.tr("番号札を印刷できませんでした。この画面の番号を控えてください。")
        if s.paid:
            printed += "\n" + app.tr("手数料のお支払いが済みました。")
        elif s.notice is not None:
            printed += "\n" + self.notice_text(app, s)
        self.ids.printed.text = printed
        qr = self.ids.qr
        if t.status_url:
            qr.texture = qr_texture(t.status_url)
            qr.opacity, qr.size_hint_y = 1, 1
            self.ids.qr_label.text = app.tr("スマートフォンで読み取ると、呼び出し状況が見られます")
        else:
            # Kivy draws a widget at opacity 0 too: without a size it costs nothing.
            qr.opacity, qr.size_hint_y, qr.height = 0, None, 0
            self.ids.qr_label.text = ""
