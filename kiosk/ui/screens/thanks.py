from __future__ import annotations

from kiosk.domain.session import Step
from kiosk.ui.screens.base import KioskScreen


class ThanksScreen(KioskScreen):
    step = Step.THANKS
    title = "ありがとうございました"
