"""The application record: validation against the form, JSON round trip, no 個人番号."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kiosk.configfile import load_catalog
from kiosk.domain.application import Application, ApplicationError, Identity
from kiosk.domain.my_number import (
    MyNumberCheck,
    check_digit,
    contains_number,
    is_masked,
    is_valid,
    mask,
)
from kiosk.domain.wareki import wareki

CATALOG = load_catalog()
CARD = {"name": "山田\u3000花子", "address": "大阪府堺市北区新金岡町５丁１－１",
        "birth_date": "1985-03-07"}


def test_build_and_round_trip() -> None:
    proc = CATALOG.procedure("juminhyo")
    app = Application.build(proc, {**CARD, "copies": 2, "purpose": "金融機関",
                                   "options": ["本籍", "本籍"]}, Identity.CARD)
    assert app.values["options"] == ("本籍",)
    assert app.fee(proc) == 600
    data = json.loads(json.dumps(app.to_dict(), ensure_ascii=False))
    assert Application.from_dict(data, proc) == app


@pytest.mark.parametrize(("key", "value", "words"), [
    ("copies", 0, "between"),
    ("copies", 11, "between"),
    ("purpose", "なんとなく", "must be one of"),
    ("options", ["戸籍"], "unknown choice"),
    ("birth_date", "1985/03/07", "YYYY-MM-DD"),
    ("extra", "x", "not a field"),
])
def test_bad_values_are_refused(key: str, value: object, words: str) -> None:
    proc = CATALOG.procedure("juminhyo")
    with pytest.raises(ApplicationError) as info:
        Application.build(proc, {**CARD, "purpose": "その他", key: value}, Identity.CARD)
    assert info.value.key == key
    assert words in info.value.problem


def test_missing_required_field() -> None:
    with pytest.raises(ApplicationError) as info:
        Application.build(CATALOG.procedure("inkan"), {"name": "x", "address": "y"},
                          Identity.TYPED)
    assert info.value.key == "birth_date"


def test_my_number_is_never_carried_in_full() -> None:
    proc = CATALOG.procedure("kokuho_kanyu")
    values = {**CARD, "sex": "2", "reason": "退職", "members": 1}
    with pytest.raises(ApplicationError):
        Application.build(proc, {**values, "my_number": "123456789018"}, Identity.CARD)
    app = Application.build(proc, {**values, "my_number": MyNumberCheck.of("123456789018")},
                            Identity.CARD)
    text = json.dumps(app.to_dict())
    assert "123456789018" not in text
    assert app.to_dict()["values"]["my_number"] == {"masked": "********9018",
                                                    "check_digit_ok": True}


def test_assisted_keeps_only_resident_choices() -> None:
    proc = CATALOG.procedure("juminhyo")
    app = Application.build(proc, {"copies": 1, "purpose": "その他"}, Identity.ASSISTED)
    assert set(app.values) == {"copies", "purpose"}


def test_assisted_refuses_a_field_the_form_does_not_have() -> None:
    proc = CATALOG.procedure("juminhyo")
    with pytest.raises(ApplicationError) as info:
        Application.build(proc, {"copies": 1, "zzz": "x"}, Identity.ASSISTED)
    assert info.value.key == "zzz"


@pytest.mark.parametrize(("text", "found"), [
    ("123456789018", True),
    ("山田 123456789018", True),
    ("1234 5678 9018", True),
    ("1234-5678-9018", True),
    ("1234 - 5678 - 9018", True),
    ("１２３４５６７８９０１８", True),
    ("１２３４－５６７８－９０１８", True),
    ("1234ー5678ー9018", True),
    ("1234.5678.9018", True),
    ("電話 06-1234-5678、番号 123456789018", True),
    ("123456789012", False),          # fails the check digit
    ("1123456789018", False),         # 13 digits: not a 個人番号
    ("1234567890181", False),
    ("06-1234-5678", False),
    ("1丁目2番3号", False),
    ("1234    5678 9018", False),     # a long gap: two separate numbers
    ("********9018", False),
])
def test_a_my_number_is_found_however_written(text: str, found: bool) -> None:
    assert contains_number(text) is found


def test_the_one_masked_form() -> None:
    assert is_masked(mask("123456789018"))
    for bad in ("*9018", "*******19018", "********901", "********90180", "********abcd",
                "********９０１８", "xxxxxxxx9018"):
        assert not is_masked(bad), bad


def test_check_digit() -> None:
    assert check_digit("12345678901") == 8
    assert is_valid("123456789018")
    assert not is_valid("123456789012")
    assert not is_valid("12345678901")
    assert mask("123456789018") == "********9018"


@pytest.mark.parametrize(("d", "text"), [
    (date(1985, 3, 7), "昭和60年3月7日"),
    (date(1989, 1, 7), "昭和64年1月7日"),
    (date(1989, 1, 8), "平成元年1月8日"),
    (date(2019, 4, 30), "平成31年4月30日"),
    (date(2019, 5, 1), "令和元年5月1日"),
    (date(1926, 12, 25), "昭和元年12月25日"),
    (date(1912, 7, 30), "大正元年7月30日"),
])
def test_wareki(d: date, text: str) -> None:
    assert wareki(d) == text
