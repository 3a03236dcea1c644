from __future__ import annotations

from typing import Any

from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen


class WaitScreen(KioskScreen):
    """Shown while the card is read."""

    step = Step.READING
    title = "読み取っています"
    kv = "wait"
    message = "カードを読み取っています。カードを動かさないでください。"

    def refresh(self, app: Any, s: Session) -> None:
        self.ids.message.text = app.tr(self.message)


class IssuingScreen(WaitScreen):
    """Shown while the ticket is issued and printed."""

    step = Step.ISSUING
    title = "番号札を発行しています"
    message = "番号札を発行しています。少しお待ちください。"
