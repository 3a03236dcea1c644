"""The step indicator under the header of every resident screen: where am I, how many
steps are left. It renders the domain's progress model (`Session.progress`: current
index, total, step labels as msgids) and computes nothing itself; on the welcome
screen (no progress) it takes no room."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.graphics import Color, Line, Rectangle
from kivy.lang import Builder
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk.ui.widgets import solid


def progress_of(session: Any) -> Any:
    """The session's progress model (`kiosk.domain.progress.Progress`), or None on the
    welcome screen."""
    return session.progress


class StepBar(Widget):
    """One segment per step: done and current filled, the rest outlined."""

    index = NumericProperty(-1)
    total = NumericProperty(0)

    def on_size(self, *args: Any) -> None:
        self.draw()

    def on_pos(self, *args: Any) -> None:
        self.draw()

    def draw(self) -> None:
        from kivy.app import App
        col = App.get_running_app().col
        self.canvas.clear()
        n = int(self.total)
        if n <= 0:
            return
        gap = self.height * 0.35
        width = (self.width - gap * (n - 1)) / n
        with self.canvas:
            for i in range(n):
                x = self.x + i * (width + gap)
                current = i == self.index
                h = self.height if current else self.height * 0.6
                y = self.y + (self.height - h) / 2
                if i <= self.index:
                    Color(rgba=col["primary"])
                    Rectangle(texture=solid(), pos=(x, y), size=(width, h))
                else:
                    Color(rgba=col["muted"])
                    Line(rectangle=(x + 1, y + 1, width - 2, h - 2), width=1.5)


class StepIndicator(BoxLayout):
    where = StringProperty("")
    left = StringProperty("")
    shown = NumericProperty(0)   # 1 while a visit is under way

    def show(self, app: Any, progress: Any) -> None:
        if progress is None:
            self.shown, self.where, self.left = 0, "", ""
            self.ids.bar.total = 0
            self.ids.bar.draw()
            return
        label = app.tr(progress.labels[progress.index])
        self.where = app.tr("ステップ {n}/{total}：{label}", n=progress.index + 1,
                            total=progress.total, label=label)
        left = progress.left
        self.left = app.tr("あと{n}ステップ", n=left) if left else app.tr("最後のステップです")
        self.ids.bar.index, self.ids.bar.total = progress.index, progress.total
        self.shown = 1
        self.ids.bar.draw()


Builder.load_file(str(Path(__file__).with_name("steps.kv")))
