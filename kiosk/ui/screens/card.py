from __future__ import annotations

from typing import Any

from kivy.animation import Animation

from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen


class CardScreen(KioskScreen):
    step = Step.CARD
    title = "マイナンバーカードを置いてください"

    def refresh(self, app: Any, s: Session) -> None:
        self.ids.notice.text = self.notice_text(app, s)

    def on_enter(self, *args: Any) -> None:
        # Animated guidance: the card slides down onto the reader, again and again.
        card = self.ids.card_shape
        Animation.cancel_all(card, "shift")
        card.shift = 1.0
        anim = Animation(shift=0.0, duration=1.2, t="out_quad") + Animation(duration=0.6) \
            + Animation(shift=1.0, duration=0.01)
        anim.repeat = True
        anim.start(card)

    def on_leave(self, *args: Any) -> None:
        Animation.cancel_all(self.ids.card_shape, "shift")
