from __future__ import annotations

from typing import Any

from kiosk.configfile import ASSETS_DIR
from kiosk.domain.session import Session, Step
from kiosk.ui.labels import GROUP_NAMES
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import ActIconButton

ICONS = ASSETS_DIR / "images" / "procedures"


def icon_for(code: str, group: str) -> str:
    for name in (code, group):
        path = ICONS / f"{name}.png"
        if path.exists():
            return str(path)
    return str(ICONS / "other.png")


class ProcedureScreen(KioskScreen):
    step = Step.PROCEDURE
    title = "ご用件をお選びください"

    def refresh(self, app: Any, s: Session) -> None:
        offered = bool(s.events())
        entry = self.ids.life_events
        entry.disabled, entry.opacity = not offered, 1 if offered else 0
        entry.height = app.target * 1.6 if offered else 0
        key = (s.language, s.large_text)
        grid = self.ids.grid
        if getattr(self, "_built", None) == key:
            return
        self._built = key
        grid.clear_widgets()
        for group, procedures in s.groups():
            for p in procedures:
                b = ActIconButton(text=f"{app.tr(p.name)}\n[size={int(app.fs * 0.7)}]"
                               f"{app.tr(GROUP_NAMES.get(group, group))}[/size]",
                                  icon=icon_for(p.code, group),
                                  action=["choose_procedure", p.code])
                b.markup = True
                grid.add_widget(b)
