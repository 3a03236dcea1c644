from __future__ import annotations

from datetime import date
from typing import Any

from kiosk.domain.catalog import FieldKind, FieldSource, FormField
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.session import SEX_CHOICES, Session, Step
from kiosk.domain.wareki import wareki
from kiosk.ui.screens.base import KioskScreen
from kiosk.ui.widgets import ActButton


def shown_value(app: Any, f: FormField, value: object) -> tuple[str, bool]:
    """(text, is_personal): personal data is shown as read, choices are translated."""
    if value is None or value == "":
        return app.tr("（未入力）"), False
    if isinstance(value, MyNumberCheck):
        return app.tr("個人番号はカードで確認済み（{masked}）", masked=value.masked), False
    if f.kind is FieldKind.DATE and isinstance(value, str):
        d = date.fromisoformat(value)
        return (wareki(d) if app.lang in ("ja", "ja-easy") else d.isoformat()), True
    if f.kind is FieldKind.SEX:
        return app.tr(dict(SEX_CHOICES).get(str(value), str(value))), False
    if f.kind is FieldKind.COUNT:
        return app.tr("{n}通", n=value) if f.key == "copies" else str(value), False
    if isinstance(value, tuple):
        return "、".join(app.tr(v) for v in value) or app.tr("なし"), False
    if f.kind is FieldKind.CHOICE:
        return app.tr(str(value)), False
    return str(value), f.source is not FieldSource.RESIDENT or f.kind is not FieldKind.YEAR


class ConfirmScreen(KioskScreen):
    step = Step.CONFIRM
    title = "内容の確認"
    _built: tuple[object, ...] | None = None

    def _shown_fields(self, s: Session) -> list[FormField]:
        p = s.procedure
        assert p is not None
        assisted = s.identity is not None and s.identity.value == "assisted"
        return [f for f in p.fields
                if not (assisted and f.source is not FieldSource.RESIDENT)
                and not (f.source is FieldSource.MY_NUMBER and s.values.get(f.key) is None)]

    def refresh(self, app: Any, s: Session) -> None:
        p = s.procedure
        assert p is not None
        fields = self._shown_fields(s)
        shown = [shown_value(app, f, s.values.get(f.key)) for f in fields]
        # Rows are built once per form/language/mode; a change of copies or options
        # only updates texts and toggles (a rebuild costs ~30 ms of widget creation).
        # Whether a value is personal picks its label (the font for names as read), so
        # a field typed in since the build is part of the key.
        key = (p.code, s.identity, s.language, s.large_text, s.high_contrast,
               tuple((f.key, personal) for f, (_, personal) in zip(fields, shown, strict=True)))
        if self._built != key:
            self._build(app, s, fields)
            self._built = key
        for f, (text, _) in zip(fields, shown, strict=True):
            self._values[f.key].text = text
            chosen = s.values.get(f.key)
            for b in self._toggles.get(f.key, []):
                b.selected = isinstance(chosen, tuple) and b.action[2] in chosen
        self.ids.procedure.text = app.tr(p.name)
        form = s.visit.form if s.visit is not None else None
        if form is not None:   # a life event: ONE review of every form it makes
            forms = app.tr("、").join(app.tr(f.name) for f in form.procedures)
            self.ids.procedure.text += "\n" + app.tr("作成する書類：{forms}", forms=forms)
        fee = s.fee()
        self.ids.fee.text = (app.tr("手数料 {fee}円", fee=f"{fee:,}") if fee
                             else app.tr("手数料はかかりません"))
        self.ids.notice.text = self.notice_text(app, s)

    def _build(self, app: Any, s: Session, fields: list[FormField]) -> None:
        from kivy.factory import Factory
        rows = self.ids.rows
        rows.clear_widgets()
        self._values: dict[str, Any] = {}
        self._toggles: dict[str, list[ActButton]] = {}
        for f in fields:
            _, personal = shown_value(app, f, s.values.get(f.key))
            row = Factory.FieldRow()
            row.add_widget(Factory.FieldName(text=app.tr(f.label)))
            label = Factory.ValueLabel() if personal else Factory.FieldValue()
            label.size_hint_y = 1
            row.add_widget(label)
            row.add_widget(self._control(app, s, f))
            rows.add_widget(row)
            self._values[f.key] = label

    def clear(self) -> None:
        # The rows stay for the next visit (building them is most of this screen's
        # work); what they showed goes.
        for label in getattr(self, "_values", {}).values():
            label.text = ""
        for buttons in getattr(self, "_toggles", {}).values():
            for b in buttons:
                b.selected = False

    def _control(self, app: Any, s: Session, f: FormField) -> Any:
        from kivy.uix.boxlayout import BoxLayout
        box = BoxLayout(spacing=app.target * 0.15, size_hint_x=0.45)
        if not s.editable(f):
            return box
        buttons: list[ActButton] = []
        if f.kind is FieldKind.COUNT:
            buttons = [ActButton(text="－", action=["set_count", f.key, -1]),
                       ActButton(text="＋", action=["set_count", f.key, 1])]
        elif f.kind is FieldKind.FLAGS:
            chosen = s.values.get(f.key) or ()
            buttons = [ActButton(text=app.tr(c), action=["toggle_flag", f.key, c],
                               selected=c in chosen) for c in f.choices]  # type: ignore[operator]
        else:
            buttons = [ActButton(text=app.tr("変更"), action=["edit", f.key])]
        if f.kind is FieldKind.FLAGS:
            self._toggles[f.key] = buttons
        for b in buttons:
            box.add_widget(b)
        return box
