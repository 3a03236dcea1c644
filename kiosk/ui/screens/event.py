"""Which life event (引っ越し・出生・おくやみ …): one big button per event of the catalog."""

from __future__ import annotations

from typing import Any

from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import ActButton


class EventScreen(KioskScreen):
    step = Step.EVENT
    title = "引っ越し・出生・おくやみ"
    _built: object = None

    def refresh(self, app: Any, s: Session) -> None:
        key = (s.language, s.large_text, tuple(e.code for e in s.events()))
        if self._built == key:
            return
        self._built = key
        grid = self.ids.events
        grid.clear_widgets()
        for e in s.events():
            b = ActButton(text=app.tr(e.name), action=["choose_event", e.code])
            b.font_size = app.fs * 1.15   # rebuilt when the text size changes
            grid.add_widget(b)
