"""The filled-in application form (交付申請書 / 届書): labelled data and a PDF.

`application_data()` lays the application out as the form reads — requester, request,
個人番号 (only on forms that carry one, and then only the masked check), identity,
fee — as labelled JSON for the counter console. `render_application_pdf()` draws
that same data on A4 like the paper form, with BIZ UD Gothic embedded so the text stays
extractable and every kanji prints. Both take the same arguments, so the counter sees
on screen exactly what it prints.
"""

from __future__ import annotations

import functools
import io
import threading
from datetime import date, datetime
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from kiosk.domain.application import Application, Authenticity, CardKey, FieldValue, Identity
from kiosk.domain.catalog import FieldKind, FieldSource, FormField, Procedure, Ward
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.wareki import era_year, seireki, wareki
from kiosk.printing import fonts

SEX = {"1": "男", "2": "女", "9": "適用不能", "0": "不明"}
IDENTITY = {
    Identity.CARD: "マイナンバーカード（券面事項入力補助用暗証番号で読取り）",
    Identity.TYPED: "端末で入力（カードなし）— 窓口で本人確認書類を確認",
    Identity.ASSISTED: "職員が窓口で確認・記入",
}
AUTHENTICITY = {
    Authenticity.GENUINE: "確認済み（カードの電子署名が正当）",
    Authenticity.NOT_VERIFIABLE: "確認できず — 窓口でカード原本を確認",
    Authenticity.TAMPERED: "不一致（改ざんの疑い）— 窓口でカード原本を確認",
}
CODE_B_IDENTITY = "マイナンバーカード（照合番号Bで読取り — 暗証番号なし。個人番号は読み取れません）"
# Codes the kiosk puts in Application.notes, as the counter reads them; others print as-is.
NOTES = {"assistance": "お手伝いを希望されています（職員が確認・記入）",
         "my_number_at_counter": "個人番号は窓口で確認してください（照合番号Bでは読み取れません）"}
BLANK_ASSISTED = "（窓口で記入）"
BLANK = "（未記入）"


def form_title(procedure: Procedure) -> str:
    name = procedure.name
    if name.endswith("届"):
        return name
    if name.endswith("申請"):
        return name + "書"
    if procedure.group == "insurance":
        return name + "届"
    return name + " 交付申請書"


def _act(procedure: Procedure) -> str:
    """届出 for a 届 (notification), 申請 for everything else."""
    return "届出" if form_title(procedure).endswith("届") else "申請"


def _who(procedure: Procedure) -> str:
    return "届出人" if _act(procedure) == "届出" else "申請者"


def _date(text: str) -> str:
    d = date.fromisoformat(text)
    return f"{wareki(d)}（{seireki(d)}）"


def _display(f: FormField, value: FieldValue | None, identity: Identity) -> str:
    if value is None:
        assisted = identity is Identity.ASSISTED and f.source is not FieldSource.RESIDENT
        return BLANK_ASSISTED if assisted else BLANK
    if isinstance(value, MyNumberCheck):
        ok = "一致" if value.check_digit_ok else "不一致 — 窓口で確認"
        return f"{value.masked}（検査用数字：{ok}）"
    if isinstance(value, tuple):
        return "、".join(value) if value else "なし"
    if isinstance(value, int):
        if f.kind is FieldKind.YEAR:
            era, year = era_year(date(value, 4, 1))
            return f"{era}{year}年度（{value}年度）"
        if f.key == "copies":
            return f"{value}通"
        return f"{value}人" if "人数" in f.label else f"{value}"
    if f.kind is FieldKind.DATE:
        return _date(value)
    if f.kind is FieldKind.SEX:
        return SEX.get(value, value)
    return value


def _item(f: FormField, application: Application) -> dict[str, Any]:
    value = application.values.get(f.key)
    item: dict[str, Any] = {
        "key": f.key, "label": f.label, "kind": f.kind.value, "source": f.source.value,
        "value": value.to_dict() if isinstance(value, MyNumberCheck)
        else list(value) if isinstance(value, tuple) else value,
        "display": _display(f, value, application.identity),
    }
    if f.kind is FieldKind.FLAGS:
        item["choices"] = list(f.choices)
    return item


def _issued(issued_at: datetime | None) -> str | None:
    if issued_at is None:
        return None
    return f"{wareki(issued_at.date())}（{seireki(issued_at.date())}）{issued_at:%H:%M}"


def application_data(procedure: Procedure, application: Application, *, ward: Ward,
                     ticket_number: str | None = None,
                     issued_at: datetime | None = None) -> dict[str, Any]:
    """The form as labelled sections, for the counter console (JSON-ready)."""
    if application.procedure != procedure.code:
        raise ValueError(f"application is for {application.procedure!r}, "
                         f"not {procedure.code!r}")
    requester = [f for f in procedure.fields if f.source is FieldSource.CARD]
    request = [f for f in procedure.fields if f.source is FieldSource.RESIDENT]
    number = [f for f in procedure.fields if f.source is FieldSource.MY_NUMBER]
    sections: list[dict[str, Any]] = [
        {"key": "requester", "heading": f"{_who(procedure)}（窓口に来られた方）",
         "items": [_item(f, application) for f in requester]},
        {"key": "request", "heading": f"{_act(procedure)}の内容",
         "items": [_item(f, application) for f in request]},
    ]
    if number:   # 番号法: only forms whose procedure carries a 個人番号 field show one
        sections.append({"key": "my_number", "heading": "個人番号",
                         "items": [_item(f, application) for f in number]})
    auth = application.authenticity
    sections.append({"key": "identity", "heading": "本人確認", "items": [
        {"key": "identity", "label": "本人確認の方法", "value": application.identity.value,
         "display": CODE_B_IDENTITY if application.card_key is CardKey.CODE_B
         else IDENTITY[application.identity]},
        {"key": "authenticity", "label": "カードの真正性",
         "value": auth.value if auth else None,
         "display": AUTHENTICITY[auth] if auth else "—（カードを使用していません）"},
    ]})
    fee = application.fee(procedure)
    sections.append({"key": "fee", "heading": "手数料", "items": [
        {"key": "fee_yen", "label": "手数料", "value": fee,
         "display": f"{fee:,}円" if fee else "無料"},
    ]})
    city = ward.city or ""
    return {
        "title": form_title(procedure),
        "procedure": {"code": procedure.code, "name": procedure.name},
        "ward": {"code": ward.code, "name": ward.name, "city": city},
        "addressee": f"{city}{ward.name.removesuffix('役所')}長",
        "ticket_number": ticket_number,
        "issued_at": issued_at.isoformat() if issued_at else None,
        "issued_at_display": _issued(issued_at),
        "language": application.language,
        "sections": sections,
        "signature_required": procedure.signature,
        "notes": [NOTES.get(note, note) for note in application.notes],
    }


# ------------------------------------------------------------------ PDF
FONT, BOLD = "BIZUDGothic", "BIZUDGothic-Bold"
W, H = A4
LEFT, RIGHT, TOP = 48.0, W - 48.0, H - 48.0
LABEL_W = 130.0
# reportlab keeps per-document subsetting state on the shared TTFont objects; the
# back-office renders from a thread pool, so one form is drawn at a time (≈ 10 ms each).
_DRAWING = threading.Lock()


@functools.cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(FONT, str(fonts.REGULAR)))
    pdfmetrics.registerFont(TTFont(BOLD, str(fonts.BOLD)))


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    rows, row = [], ""
    for ch in text:
        if row and pdfmetrics.stringWidth(row + ch, font, size) > width:
            rows.append(row)
            row = ""
        row += ch
    return [*rows, row]


class _Form:
    """A top-to-bottom cursor over one A4 page (a second page when it runs over)."""

    def __init__(self, canvas: Canvas) -> None:
        self.c = canvas
        self.y = TOP

    def room(self, height: float) -> None:
        if self.y - height < 60:
            self.c.showPage()
            self.y = TOP

    def heading(self, text: str) -> None:
        self.room(24 + 26)
        self.y -= 8
        self.c.setFillGray(0.85)
        self.c.rect(LEFT, self.y - 18, RIGHT - LEFT, 18, stroke=1, fill=1)
        self.c.setFillGray(0)
        self.c.setFont(BOLD, 11)
        self.c.drawString(LEFT + 6, self.y - 13, text)
        self.y -= 18

    def row(self, item: dict[str, Any]) -> None:
        size = 11.0
        if "choices" in item:     # tick boxes, as on the paper form
            chosen = set(item["value"] or ())
            text = "　".join(("■ " if ch in chosen else "□ ") + ch for ch in item["choices"])
        else:
            text = str(item["display"])
        rows = _wrap(text, FONT, size, RIGHT - LEFT - LABEL_W - 12)
        height = max(24.0, 8 + 15 * len(rows))
        self.room(height)
        c = self.c
        c.setFillGray(0.95)
        c.rect(LEFT, self.y - height, LABEL_W, height, stroke=1, fill=1)
        c.setFillGray(0)
        c.rect(LEFT + LABEL_W, self.y - height, RIGHT - LEFT - LABEL_W, height, stroke=1)
        c.setFont(FONT, 10)
        c.drawString(LEFT + 6, self.y - 16, item["label"])
        c.setFont(FONT, size)
        for i, line in enumerate(rows):
            c.drawString(LEFT + LABEL_W + 6, self.y - 16 - 15 * i, line)
        self.y -= height

    def box(self, label: str, height: float, note: str = "") -> None:
        self.room(height + 12)
        self.y -= 12
        self.c.rect(LEFT, self.y - height, RIGHT - LEFT, height)
        self.c.setFont(FONT, 10)
        self.c.drawString(LEFT + 6, self.y - 14, label)
        if note:
            self.c.setFont(FONT, 8)
            self.c.drawRightString(RIGHT - 6, self.y - height + 6, note)
        self.y -= height


def render_application_pdf(procedure: Procedure, application: Application, *, ward: Ward,
                           ticket_number: str | None = None,
                           issued_at: datetime | None = None) -> bytes:
    """The filled form as an A4 PDF (fonts embedded, text extractable)."""
    data = application_data(procedure, application, ward=ward,
                            ticket_number=ticket_number, issued_at=issued_at)
    with _DRAWING:
        return _draw(data, procedure, ward, ticket_number)


def _draw(data: dict[str, Any], procedure: Procedure, ward: Ward,
          ticket_number: str | None) -> bytes:
    _register_fonts()
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, invariant=True)
    c.setTitle(data["title"])
    c.setAuthor(ward.name)
    c.setSubject(procedure.code)
    form = _Form(c)

    c.setFont(FONT, 11)
    c.drawString(LEFT, TOP - 4, f"（あて先）{data['addressee']}")
    if ticket_number:
        c.rect(RIGHT - 150, TOP - 40, 150, 44)
        c.setFont(FONT, 9)
        c.drawString(RIGHT - 144, TOP - 8, "受付番号")
        c.setFont(BOLD, 22)
        c.drawRightString(RIGHT - 8, TOP - 34, ticket_number)
    c.setFont(BOLD, 20)
    c.drawCentredString(W / 2, TOP - 70, data["title"])
    form.y = TOP - 92
    if data["issued_at_display"]:
        c.setFont(FONT, 10)
        c.drawRightString(RIGHT, form.y,
                          f"{_act(procedure)}日時：{data['issued_at_display']}")
    form.y -= 6

    for section in data["sections"]:
        if not section["items"]:
            continue
        form.heading(section["heading"])
        for item in section["items"]:
            form.row(item)
    for note in data["notes"]:
        form.room(16)
        form.y -= 14
        c.setFont(FONT, 9)
        c.drawString(LEFT, form.y, f"※ {note}")

    if data["signature_required"]:
        form.room(20)
        form.y -= 20
        c.setFont(FONT, 10)
        verb = "届け出ます" if _act(procedure) == "届出" else "申請します"
        c.drawString(LEFT, form.y, f"上記の内容に間違いがないことを確認し、{verb}。")
        form.box("署名（ご本人が自署してください）", 56)
    form.box("職員記入欄　受付　　　本人確認　　　入力　　　交付", 40,
             note=f"書かない窓口 — {ward.name}の窓口端末で作成")
    c.showPage()
    c.save()
    return out.getvalue()
