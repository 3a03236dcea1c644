"""The basic-four data model."""

from __future__ import annotations

from datetime import date

import pytest

from hardware.card.profile import Profile
from kiosk.card.errors import CardDataError
from kiosk.card.holder import Holder, Sex, parse_holder


def _file(**kw) -> bytes:
    values = dict(name="佐藤\u3000一郎", address="東京都千代田区", birth_date="19850307",
                  sex="1", my_number="123456789018")
    values.update(kw)
    return Profile(**values).holder_file()


def test_name_split_and_wareki():
    holder = parse_holder(_file())
    assert (holder.family_name, holder.given_name) == ("佐藤", "一郎")
    assert holder.birth_date_wareki == "昭和60年3月7日"
    assert holder.to_dict()["birth_date"] == "1985-03-07"
    assert "佐藤" not in repr(holder)


def test_name_without_space_and_gannen():
    holder = parse_holder(_file(name="ジョン・スミス", birth_date="20190501"))
    assert holder.family_name == "ジョン・スミス" and holder.given_name == ""
    assert holder.birth_date_wareki == "令和元年5月1日"


def test_partial_birth_date_kept_raw():
    holder = parse_holder(_file(birth_date="19200000"))
    assert holder.birth_date is None and holder.birth_date_wareki == "19200000"
    assert Holder.to_dict(holder)["birth_date"] is None


@pytest.mark.parametrize(("code", "ja", "en"), [
    ("0", "不明", "unknown"), ("1", "男", "male"), ("2", "女", "female"),
    ("9", "適用不能", "not applicable")])
def test_sex_labels(code, ja, en):
    sex = parse_holder(_file(sex=code)).sex
    assert sex is Sex(code) and (sex.label_ja, sex.label_en) == (ja, en)


@pytest.mark.parametrize("kw", [{"sex": "3"}, {"birth_date": "1985037"}, {"name": ""},
                                {"birth_date": "１９８５０３０７"}])
def test_bad_fields(kw):
    with pytest.raises(CardDataError):
        parse_holder(_file(**kw))


def test_not_utf8_and_wrong_tag():
    data = bytearray(_file())
    at = data.index("佐".encode())
    data[at] = 0xFF
    with pytest.raises(CardDataError):
        parse_holder(bytes(data))
    with pytest.raises(CardDataError):
        parse_holder(b"\xFF\x30\x00")


def test_wareki_dates():
    assert parse_holder(_file(birth_date="19890108")).birth_date == date(1989, 1, 8)
    assert parse_holder(_file(birth_date="19890108")).birth_date_wareki == "平成元年1月8日"


def test_form_values_fit_the_catalog():
    from kiosk.configfile import load_catalog
    from kiosk.domain.application import Application, Identity
    from kiosk.domain.catalog import CARD_FIELDS, FieldSource

    holder = parse_holder(_file())
    assert set(holder.form_values()) == set(CARD_FIELDS)
    assert "birth_date" not in parse_holder(_file(birth_date="19200000")).form_values()
    catalog = load_catalog()
    checked = 0
    for procedure in catalog.procedures.values():
        card_keys = {f.key for f in procedure.fields if f.source is FieldSource.CARD}
        values = {k: v for k, v in holder.form_values().items() if k in card_keys}
        for f in procedure.fields:
            if f.key not in values and f.required and f.source is not FieldSource.MY_NUMBER \
                    and f.default is None:
                values[f.key] = f.choices[0] if f.choices else {
                    "count": 1, "year": 2024, "date": "2024-01-02"}.get(f.kind.value, "テスト")
        try:
            app = Application.build(procedure, values, Identity.CARD)
        except Exception as exc:  # a resident field this test fills badly is not our concern
            if any(k in str(exc) for k in card_keys):
                raise
            continue
        for key in card_keys:
            assert app.values[key] == holder.form_values()[key]
        checked += bool(card_keys)
    assert checked
