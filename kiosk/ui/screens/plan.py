"""The procedures the answers call for, editable: each chosen item with where it is
done (this office's counter, another office, online) and a button to drop it; below,
the event's other items with a button to add one. The domain derives the list."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory

from kiosk.domain.life_events import NOT_OFFERED_OFFICE, Place
from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import ActButton


def where(app: Any, s: Session, item: Any, not_offered: frozenset[str]) -> str:
    """Where an item of the event is done, in the resident's words."""
    if item.place == Place.HERE and item.procedure not in not_offered:
        service = s.catalog.service(s.catalog.procedure(item.procedure).service)
        return app.tr("この庁舎：{service}", service=app.tr(service.name))
    if item.place == Place.ONLINE:
        return app.tr("オンラインでできます")
    office = item.office if item.place == Place.OTHER else NOT_OFFERED_OFFICE
    return app.tr("ほかの窓口：{office}", office=app.tr(office or ""))


class PlanScreen(KioskScreen):
    step = Step.PLAN
    title = "手続きの一覧"
    _built: object = None

    def refresh(self, app: Any, s: Session) -> None:
        visit = s.visit
        if visit is None or visit.plan is None:
            return
        plan = visit.plan
        self.ids.event.text = app.tr(visit.event.name)
        self.ids.count.text = app.tr("この庁舎での手続き：{n}件", n=len(plan.procedures))
        self.ids.notice.text = self.notice_text(app, s)
        key = (plan.chosen, plan.extras, s.language, s.large_text, s.high_contrast)
        if self._built == key:
            return
        self._built = key
        rows = self.ids.rows
        rows.clear_widgets()
        for item in (i for i in plan.event.items if i.code in plan.chosen):
            rows.add_widget(self._row(app, item.name, where(app, s, item, plan.not_offered),
                                      app.tr("外す"), ["drop_item", item.code]))
        for code in plan.extras:   # a procedure added that is no item of the event
            p = s.catalog.procedure(code)
            service = app.tr(s.catalog.service(p.service).name)
            rows.add_widget(self._row(app, p.name, app.tr("この庁舎：{service}", service=service),
                                      app.tr("外す"), ["drop_item", code]))
        others = plan.available()
        if others:
            rows.add_widget(Factory.PlanHeading(
                text=app.tr("ほかに必要な手続きがあれば追加できます")))
        for item in others:
            rows.add_widget(self._row(app, item.name, where(app, s, item, plan.not_offered),
                                      app.tr("追加"), ["add_item", item.code]))

    @staticmethod
    def _row(app: Any, name: str, place: str, verb: str, action: list[str]) -> Any:
        """One item: its name and where it is done, and the button to drop or add it."""
        row = Factory.PlanRow()
        texts = Factory.PlanTexts()
        texts.add_widget(Factory.PlanName(text=app.tr(name)))
        texts.add_widget(Factory.PlanPlace(text=place))
        row.add_widget(texts)
        row.add_widget(ActButton(text=verb, action=action, size_hint_x=0.22))
        return row

    def clear(self) -> None:
        self._built = None
        self.ids.rows.clear_widgets()
