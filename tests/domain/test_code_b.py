"""照合番号B: the entry (era → YY), the session's PIN-less path, the card-check policy."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.configfile import load_catalog
from kiosk.domain import card_check
from kiosk.domain.actions import Action, apply
from kiosk.domain.application import Application, ApplicationError, Authenticity, CardKey
from kiosk.domain.card_check import UnverifiablePolicy
from kiosk.domain.code_b import CodeBEntry, western_date
from kiosk.domain.session import Session, SessionSettings, Step, WipeReason

HOLDER = {"name": "佐藤\u3000花子", "address": "東京都北区赤羽一丁目１番１号",
          "birth_date": "2020-02-24", "sex": "2"}


def entry(era: str, digits: str) -> CodeBEntry:
    e = CodeBEntry()
    e.choose_era(era)
    for d in digits:
        e.press(d)
    return e


def test_reiwa_2_feb_24_is_020224() -> None:
    assert entry("令和", "020224" + "2030" + "7305").code() == "02022420307305"
    assert entry("昭和", "600307" "2035" "4821").code() == "60030720354821"
    assert western_date("令和", 2, 2, 24) == date(2020, 2, 24)


@pytest.mark.parametrize(("era", "yymmdd"), [
    ("平成", "310501"),   # 1 May 2019 is 令和元年, not 平成31年
    ("令和", "010430"),   # 30 April 2019 was still 平成
    ("昭和", "640108"),   # 8 Jan 1989 is 平成元年
    ("昭和", "600230"),   # no 30 February
    ("令和", "000101"),   # no year 0
])
def test_impossible_dates_cost_no_try(era: str, yymmdd: str) -> None:
    e = entry(era, yymmdd + "20354821")
    assert e.code() is None and e.problem() == "生年月日を確認してください。"


def test_focus_moves_on_and_back_erases_across_parts() -> None:
    e = entry("平成", "0102")
    assert e.digits["year"] == "01" and e.digits["month"] == "02" and e.focus == "day"
    e.back()   # day empty: back into month
    assert e.digits["month"] == "0" and e.focus == "month"
    e.focus_on("security")
    for d in "12345":
        e.press(d)
    assert e.digits["security"] == "1234"
    assert CodeBEntry().problem() == "生まれた年の元号をえらんでください。"
    assert entry("平成", "010203" "1999" "1234").problem().startswith("カードの有効期限")


@pytest.fixture
def s() -> Session:
    return Session(load_catalog(), "kita", SessionSettings(), now=0.0)


def to_code_b(s: Session, procedure: str = "juminhyo", pin_tries: int = 0) -> None:
    s.start(1)
    s.choose_procedure(procedure, 2)
    s.choose_card(3)
    s.card_present(pin_tries, 4)         # 0: a PIN-less card, or a blocked PIN
    if pin_tries == 0:
        assert s.notice is not None and "暗証番号のないカード" in s.notice.msgid
    apply(s, Action.CHOOSE_CODE_B, (), 5)
    assert s.step is Step.CODE_B
    s.code_b_present(10)


def type_code_b(s: Session, era: str = "令和", digits: str = "02022420307305") -> str | None:
    apply(s, Action.CODE_B_ERA, (era,), 6)
    for d in digits:
        apply(s, Action.CODE_B_PRESS, (d,), 6)
    return apply(s, Action.TAKE_CODE_B, (), 6)


def test_pinless_card_visit(s: Session) -> None:
    to_code_b(s)
    assert type_code_b(s) == "02022420307305"
    assert not any(s.code_b.digits.values())   # handed over once, then gone
    s.code_b_result(True, None, 7)
    assert s.step is Step.READING and s.card_key is CardKey.CODE_B
    s.card_read(HOLDER, None, Authenticity.GENUINE, 8)
    assert s.step is Step.CONFIRM
    app = s.application()
    assert app.card_key is CardKey.CODE_B and app.to_dict()["card_key"] == "code_b"
    assert "my_number_at_counter" not in app.notes   # 住民票 needs no number


def test_wrong_code_b_says_tries_and_never_the_last_two(s: Session) -> None:
    to_code_b(s)
    type_code_b(s)
    s.code_b_result(False, 9, 7)
    assert s.step is Step.CODE_B and s.notice is not None and s.notice.params == {"tries": 9}
    assert s.code_b.era == "令和"      # the era stays; the digits are typed again
    s.code_b_result(False, 2, 8)
    assert s.code_b_locked and "残り回数が少ない" in s.notice.msgid
    assert type_code_b(s) is None        # refused: nothing to send
    assert s.code_b.empty or not any(s.code_b.digits.values())


def test_low_counter_refused_on_arrival(s: Session) -> None:
    s.start(1)
    s.choose_procedure("juminhyo", 2)
    s.choose_card(3)
    s.card_present(3, 4)
    s.choose_code_b(5)
    s.code_b_present(2)
    assert s.code_b_locked and s.notice is not None and s.notice.error
    s.code_b_present(0)
    assert s.code_b_locked and "ロックされています" in s.notice.msgid


def test_a_number_form_goes_on_without_the_number(s: Session) -> None:
    to_code_b(s, "jidoteate")
    type_code_b(s)
    s.code_b_result(True, None, 7)
    s.card_read(HOLDER, None, Authenticity.GENUINE, 8)
    assert s.step is Step.CONFIRM and s.notice is not None
    assert "個人番号" in s.notice.msgid and not s.notice.error
    assert s.card_key is CardKey.CODE_B


def test_code_b_is_wiped_with_the_visit(s: Session) -> None:
    to_code_b(s)
    apply(s, Action.CODE_B_ERA, ("昭和",), 6)
    apply(s, Action.CODE_B_PRESS, ("6",), 6)
    assert s.has_personal_data
    s.tick(1000.0)   # idle timeout
    assert s.step is Step.WELCOME and s.code_b.empty and s.wipes[-1][0] is WipeReason.TIMEOUT
    to_code_b(s)
    apply(s, Action.CODE_B_PRESS, ("6",), 6)
    s.back(7)
    assert s.step is Step.PIN and s.code_b.empty


@pytest.mark.parametrize(("auth", "policy", "ok"), [
    (Authenticity.GENUINE, UnverifiablePolicy.REFUSE, True),
    (Authenticity.NOT_VERIFIABLE, UnverifiablePolicy.ACCEPT_AND_FLAG, True),
    (Authenticity.NOT_VERIFIABLE, UnverifiablePolicy.REFUSE, False),
    (Authenticity.TAMPERED, UnverifiablePolicy.ACCEPT_AND_FLAG, False),
])
def test_unverifiable_policy(auth: Authenticity, policy: UnverifiablePolicy, ok: bool) -> None:
    assert card_check.accepted(auth, policy) is ok
    s = Session(load_catalog(), "kita", SessionSettings(unverifiable=policy), now=0.0)
    s.start(1)
    s.choose_procedure("juminhyo", 2)
    s.choose_card(3)
    s.card_present(3, 4)
    for d in "1234":
        s.pin_press(d)
    s.take_pin()
    s.pin_result(True, None, 5)
    s.card_read(HOLDER, None, auth, 6)
    assert (s.step is Step.CONFIRM) is ok
    if ok:
        assert s.application().authenticity is auth
        assert card_check.flagged(auth) is (auth is not Authenticity.GENUINE)
    else:
        assert s.values == {} or "name" not in s.values


def test_application_fields_are_validated(s: Session) -> None:
    to_code_b(s)
    type_code_b(s)
    s.code_b_result(True, None, 7)
    s.card_read(HOLDER, None, Authenticity.NOT_VERIFIABLE, 8)
    p = load_catalog().procedure("juminhyo")
    base = s.application().to_dict()
    ok = Application.from_dict(base, p)
    assert ok.card_key is CardKey.CODE_B and ok.authenticity is Authenticity.NOT_VERIFIABLE
    for bad, key in [({"authenticity": "maybe"}, "authenticity"),
                     ({"authenticity": 3}, "authenticity"),
                     ({"card_key": "face"}, "card_key"),
                     ({"identity": "typed", "card_key": "pin"}, "card_key")]:
        with pytest.raises(ApplicationError) as err:
            Application.from_dict({**base, **bad}, p)
        assert err.value.key == key
