"""予約の方: the booking's QR held to the scanner (read in the background: kiosk.ui.scan)
or its code typed on the keyboard of the booking alphabet (no 0/O, no 1/I); a refusal
in the resident's language, and a walk-in ticket offered where the booking cannot be
used (missed, cancelled, the back-office unreachable)."""

from __future__ import annotations

from typing import Any

from kiosk.domain.checkin import KEYS
from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen


class CheckInScreen(KioskScreen):
    step = Step.CHECK_IN
    title = "予約の方"

    def refresh(self, app: Any, s: Session) -> None:
        self.ids.pad.build(KEYS)
        self.ids.code.text = s.code_entry.shown()
        self.ids.notice.text = self.notice_text(app, s)
        self.ids.ok.disabled = s.code_entry.code() is None
        offer = self.ids.walk_in
        offer.opacity, offer.disabled = (1, False) if s.walk_in_offered else (0, True)

    def clear(self) -> None:
        self.ids.code.text = ""
        self.ids.notice.text = ""
