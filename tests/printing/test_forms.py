"""Application forms: a PDF and labelled data for every procedure in the catalog."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import datetime

import pytest
from pypdf import PdfReader

from kiosk.configfile import load_catalog
from kiosk.domain.application import Application, Authenticity, Identity
from kiosk.domain.catalog import FieldKind, Procedure
from kiosk.domain.my_number import MyNumberCheck
from kiosk.printing.forms import application_data, form_title, render_application_pdf

CATALOG = load_catalog()
WARD = CATALOG.ward("kita")
NUMBER = "123456789018"          # a valid check digit; must never reach a form
ISSUED = datetime(2026, 11, 22, 10, 15)
SAMPLE = {FieldKind.NAME: "山田　太郎", FieldKind.ADDRESS: "大阪府堺市北区新金岡町５丁１－１",
          FieldKind.SEX: "2", FieldKind.TEXT: "大阪府堺市堺区南瓦町３番１号",
          FieldKind.YEAR: 2025}


def _values(procedure: Procedure) -> dict[str, object]:
    values: dict[str, object] = {}
    for f in procedure.fields:
        if f.key == "birth_date":
            values[f.key] = "1985-03-07"
        elif f.kind is FieldKind.DATE:
            values[f.key] = "2026-12-01"
        elif f.kind is FieldKind.MY_NUMBER:
            values[f.key] = MyNumberCheck.of(NUMBER)
        elif f.kind in SAMPLE:
            values[f.key] = SAMPLE[f.kind] if f.key != "new_address" else "東京都千代田区１－１"
    return values


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("code", sorted(CATALOG.procedures))
def test_form_carries_every_field(code: str) -> None:
    procedure = CATALOG.procedure(code)
    application = Application.build(procedure, _values(procedure), Identity.CARD,
                                    authenticity=Authenticity.GENUINE)
    pdf = render_application_pdf(procedure, application, ward=WARD, ticket_number="A-012",
                                 issued_at=ISSUED)
    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf               # the TrueType font is embedded
    text = _flat(_text(pdf))
    data = application_data(procedure, application, ward=WARD, ticket_number="A-012",
                            issued_at=ISSUED)
    json.dumps(data, ensure_ascii=False)      # the console gets it as JSON
    assert _flat(form_title(procedure)) in text and "A-012" in text
    assert "堺市北区長" in text
    items = {i["key"]: i for s in data["sections"] for i in s["items"]}
    for f in procedure.fields:
        assert _flat(f.label) in text, f.key
        assert f.key in items
        if f.kind is not FieldKind.FLAGS:
            assert _flat(items[f.key]["display"]) in text, f.key
        else:
            assert all(_flat(choice) in text for choice in f.choices)
    if "birth_date" in items:
        assert "昭和60年3月7日" in text and "1985年3月7日" in text   # 和暦 and 西暦
    assert "マイナンバーカード" in text and "確認済み" in text      # identity, authenticity
    assert ("ご本人が自署" in text) is procedure.signature   # the signature box
    assert NUMBER not in text and NUMBER not in json.dumps(data)
    if procedure.needs_my_number:
        assert "個人番号" in text and "********9018" in text
    else:
        assert "個人番号" not in text and "9018" not in text
        assert "my_number" not in json.dumps(data)
    # fields of other procedures' forms are absent
    others = {f.label for p in CATALOG.procedures.values() for f in p.fields} - {
        f.label for f in procedure.fields}
    own = "".join(f.label + "".join(f.choices) for f in procedure.fields)
    # 届出人 / 申請者 head every form's applicant block (and are also 出生届's field label)
    for label in others - {"個人番号", "届出人", "申請者"}:
        if label not in own:                  # 住所 is inside 現住所, 本籍 is a choice…
            assert _flat(label) not in text, label


def test_fee_and_options_on_the_form() -> None:
    procedure = CATALOG.procedure("juminhyo")
    application = Application.build(
        procedure, {**_values(procedure), "copies": 2, "options": ["世帯全員", "続柄"]},
        Identity.TYPED)
    data = application_data(procedure, application, ward=WARD)
    items = {i["key"]: i for s in data["sections"] for i in s["items"]}
    assert items["fee_yen"]["value"] == 600 and items["fee_yen"]["display"] == "600円"
    assert items["options"]["value"] == ["世帯全員", "続柄"]
    assert items["copies"]["display"] == "2通"
    assert items["identity"]["value"] == "typed" and items["authenticity"]["value"] is None
    text = _text(render_application_pdf(procedure, application, ward=WARD))
    assert "■ 世帯全員" in text and "□ 本籍" in text and "■ 続柄" in text
    assert "受付番号" not in text              # no ticket yet: no number box


def test_assisted_form_leaves_card_fields_for_staff() -> None:
    procedure = CATALOG.procedure("tennyu")
    application = Application.build(procedure, {"new_address": "堺市北区１－２",
                                                 "move_date": "2026-12-01",
                                                 "householder": "山田　花子"},
                                    Identity.ASSISTED, notes=("assistance",))
    text = _text(render_application_pdf(procedure, application, ward=WARD,
                                        ticket_number="B-003", issued_at=ISSUED))
    assert "（窓口で記入）" in text and "堺市北区１－２" in text
    assert "職員が窓口で確認・記入" in text
    assert "お手伝いを希望されています" in text and "assistance" not in text
    assert "届出人" in text and "届け出ます" in text and "申請者" not in text   # a 届, not a 申請
    assert "令和8年12月1日" in text and "令和8年11月22日" in text


def test_tampered_card_is_flagged() -> None:
    procedure = CATALOG.procedure("kokuho_kanyu")
    application = Application.build(procedure, _values(procedure), Identity.CARD,
                                    authenticity=Authenticity.TAMPERED)
    text = _text(render_application_pdf(procedure, application, ward=WARD))
    assert "改ざんの疑い" in text
    assert "1人" in text                       # 加入する人数
    assert "令和7年度" not in text             # no year field on this form


def test_wrong_procedure_is_refused() -> None:
    juminhyo, inkan = CATALOG.procedure("juminhyo"), CATALOG.procedure("inkan")
    application = Application.build(inkan, _values(inkan), Identity.CARD)
    with pytest.raises(ValueError, match="inkan"):
        render_application_pdf(juminhyo, application, ward=WARD)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdftotext_reads_the_form() -> None:
    procedure = CATALOG.procedure("shotoku")
    application = Application.build(procedure, _values(procedure), Identity.CARD)
    pdf = render_application_pdf(procedure, application, ward=WARD, ticket_number="A-007")
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                         check=True).stdout.decode("utf-8")
    assert "所得・課税証明書" in out and "令和7年度" in out and "山田" in out


def test_forms_render_from_many_threads() -> None:
    """The back-office serves form.pdf from a thread pool."""
    from concurrent.futures import ThreadPoolExecutor

    def render(code: str) -> tuple[str, str]:
        procedure = CATALOG.procedure(code)
        application = Application.build(procedure, _values(procedure), Identity.CARD)
        return code, _text(render_application_pdf(procedure, application, ward=WARD))

    codes = sorted(CATALOG.procedures) * 2
    with ThreadPoolExecutor(max_workers=6) as pool:
        for code, text in pool.map(render, codes):
            assert _flat(form_title(CATALOG.procedure(code))) in _flat(text)
            assert "山田" in text
