"""One question of the life event per screen, answered with big buttons."""

from __future__ import annotations

from typing import Any

from kiosk.domain.session import Session, Step
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import ActButton


class QuestionScreen(KioskScreen):
    step = Step.QUESTION
    title = "質問にお答えください"
    _built: object = None
    _asked: str | None = None

    def refresh(self, app: Any, s: Session) -> None:
        visit = s.visit
        q = visit.question if visit is not None else None
        if visit is None or q is None:
            return
        self.ids.event.text = app.tr(visit.event.name)
        self.ids.count.text = app.tr("質問 {n}/{total}", n=visit.questions_done() + 1,
                                     total=visit.questions_total())
        self.ids.question.text = app.tr(q.text)
        self.ids.hint.text = app.tr(q.hint) if q.hint else ""
        if s.voice and self._asked not in (None, q.key):
            # each question is a screen of its own: it is spoken again (the app speaks
            # the first one, on the change of step)
            app.guidance.say(app, app.guidance.lines(app, self, s))
        self._asked = q.key
        key = (q.key, s.language, s.large_text)
        if self._built == key:
            return
        self._built = key
        answers = self.ids.answers
        answers.clear_widgets()
        options = q.options()
        answers.cols = 2 if len(options) <= 4 else 3
        for value, label in options:
            b = ActButton(text=app.tr(label), action=["answer", value])
            b.font_size = app.fs * 1.5   # big answers (rebuilt when the text size changes)
            answers.add_widget(b)

    def clear(self) -> None:
        self._built = None
        self._asked = None
