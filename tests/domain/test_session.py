"""The resident-session state machine, without Kivy, card or network."""

from __future__ import annotations

import pytest

from kiosk.configfile import load_catalog
from kiosk.domain import kana
from kiosk.domain.application import Authenticity, Identity
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.session import (
    PayMethod,
    Session,
    SessionError,
    SessionSettings,
    Step,
    Ticket,
    WipeReason,
)

HOLDER = {"name": "山田\u3000花子", "address": "大阪府堺市北区新金岡町５丁１－１",
          "birth_date": "1985-03-07", "sex": "2"}
TICKET = Ticket(number="A-001", service="証明書の発行", people_ahead=2, wait_minutes=8,
                offline=False)


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


@pytest.fixture
def s(catalog) -> Session:  # type: ignore[no-untyped-def]
    return Session(catalog, "kita", SessionSettings(cashless=True), now=0.0)


def to_pin(s: Session, code: str = "juminhyo", tries: int = 3) -> None:
    s.start(1)
    s.choose_procedure(code, 2)
    s.choose_card(3)
    s.card_present(tries, 4)


def type_pin(s: Session, pin: str = "1234") -> str | None:
    for d in pin:
        s.pin_press(d)
    return s.take_pin()


def to_confirm(s: Session, code: str = "juminhyo", check: MyNumberCheck | None = None,
               authenticity: Authenticity = Authenticity.GENUINE) -> None:
    to_pin(s, code)
    type_pin(s)
    s.pin_result(True, None, 5)
    s.card_read(HOLDER, check, authenticity, 6)


def test_card_visit_for_juminhyo_reaches_ticket_and_wipes_at_the_end(s: Session) -> None:
    to_pin(s)
    assert s.step is Step.PIN and s.tries_left == 3
    assert type_pin(s) == "1234"
    assert s.pin_digits == ""  # the PIN left the session when it was taken
    s.pin_result(True, None, 5)
    assert s.step is Step.READING
    s.card_read(HOLDER, None, Authenticity.GENUINE, 6)
    assert s.step is Step.CONFIRM and s.values["name"] == HOLDER["name"]
    assert "sex" not in s.values  # the form does not need it: not kept
    s.set_count("copies", +1)
    assert s.fee() == 600
    s.confirm(7)
    assert s.step is Step.PAYMENT
    s.choose_payment(PayMethod.COUNTER, 8)
    assert s.step is Step.ISSUING
    app = s.application()
    assert app.identity is Identity.CARD and app.values["copies"] == 2
    s.ticket_issued(TICKET, 9)
    assert s.step is Step.TICKET
    s.finish(10)
    assert s.step is Step.THANKS
    assert s.tick(10 + s.settings.thanks_s + 0.1) is WipeReason.END
    assert s.step is Step.WELCOME and not s.has_personal_data
    assert s.wipes[-1][0] is WipeReason.END


def test_fee_exempt_purpose_skips_payment(s: Session) -> None:
    to_confirm(s)
    s.edit("purpose", 7)
    s.entry_done(8, choice="年金の手続き")
    assert s.step is Step.CONFIRM
    s.confirm(9)
    assert s.step is Step.ISSUING and s.pay_method is PayMethod.COUNTER


def test_wrong_pin_counts_down_and_never_sends_the_last_try(s: Session) -> None:
    to_pin(s)
    assert type_pin(s, "9999") == "9999"
    s.pin_result(False, 2, 5)
    assert s.notice is not None and s.notice.params["tries"] == 2
    assert type_pin(s, "8888") == "8888"
    s.pin_result(False, 1, 6)
    assert s.pin_locked
    assert type_pin(s, "1234") is None  # refused: would burn the last try
    assert s.notice is not None and "1回以下" in s.notice.msgid
    s.choose_no_card(7)
    assert s.step is Step.ENTRY


def test_card_with_one_try_left_is_refused_from_the_start(s: Session) -> None:
    to_pin(s, tries=1)
    assert s.pin_locked and s.notice is not None
    s.pin_press("1")
    assert s.pin_digits == ""


def test_pin_needs_four_digits(s: Session) -> None:
    to_pin(s)
    assert type_pin(s, "12") is None
    assert s.notice is not None and s.notice.error
    for d in "34567":
        s.pin_press(d)
    assert len(s.pin_digits) == 4


def test_no_card_types_every_card_field_then_confirms(s: Session) -> None:
    s.start(1)
    s.choose_procedure("juminhyo", 2)
    s.choose_no_card(3)
    assert s.entry_field().key == "name"
    for ch in "やまだ":
        s.entry_press(ch)
    s.entry_press(kana.SPACE)
    for ch in "はなこ":
        s.entry_press(ch)
    s.entry_done(4)
    assert s.entry_field().key == "address"
    s.entry_done(5)
    assert s.notice is not None  # required
    for ch in "さかいし":
        s.entry_press(ch)
    s.entry_done(5)
    assert s.entry_field().key == "birth_date"
    for ch in "19851307":
        s.entry_press(ch)
    s.entry_done(6)
    assert s.notice is not None and s.step is Step.ENTRY  # month 13
    s.entry_text = ""
    for ch in "198503071":  # the ninth digit is ignored
        s.entry_press(ch)
    s.entry_done(7)
    assert s.step is Step.CONFIRM
    app = s.application()
    assert app.identity is Identity.TYPED
    assert app.values["name"] == "やまだ\u3000はなこ" and app.values["birth_date"] == "1985-03-07"
    assert s.editable(s.procedure.field("name"))  # type: ignore[union-attr]


def test_fee_is_shown_before_required_fields_are_filled(s: Session) -> None:
    to_confirm(s, "koseki")
    assert s.missing() and s.fee() == 450


def test_card_data_is_not_editable_but_choices_are(s: Session) -> None:
    to_confirm(s)
    with pytest.raises(SessionError):
        s.edit("name", 7)
    s.toggle_flag("options", "本籍")
    s.toggle_flag("options", "世帯全員")
    assert s.values["options"] == ("本籍",)
    for _ in range(20):
        s.set_count("copies", +1)
    assert s.values["copies"] == 10  # the form's max


def test_ask_staff_issues_an_assistance_ticket_without_personal_data(s: Session) -> None:
    s.start(1)
    s.choose_procedure("koseki", 2)
    s.ask_staff(3)
    assert s.step is Step.ISSUING
    app = s.application()
    assert app.identity is Identity.ASSISTED and "assistance" in app.notes
    assert "name" not in app.values


def test_my_number_check_only_for_forms_that_carry_it(s: Session) -> None:
    check = MyNumberCheck.of("123456789018")
    to_confirm(s, check=check)  # 住民票: no 個人番号 field
    assert check not in s.values.values()
    s.cancel(7)
    to_confirm(s, "jidoteate", check=check)
    assert s.values["my_number"] == check
    assert s.application().to_dict()["values"]["my_number"]["masked"].startswith("*")


def test_tampered_card_is_refused(s: Session) -> None:
    to_confirm(s, authenticity=Authenticity.TAMPERED)
    assert s.step is Step.IDENTITY and "name" not in s.values


def test_idle_timeout_shows_a_countdown_then_wipes(s: Session) -> None:
    to_pin(s)
    s.pin_press("1")
    limit = s.settings.idle_timeout_s
    assert s.countdown(4 + limit - s.settings.countdown_s - 1) is None
    assert s.countdown(4 + limit - 5) == 5
    s.touch(4 + limit - 5)  # a touch restarts the clock
    assert s.tick(4 + limit) is None
    assert s.tick(4 + 2 * limit) is WipeReason.TIMEOUT
    assert s.step is Step.WELCOME and s.pin_digits == "" and s.procedure is None
    assert not s.has_personal_data


def test_welcome_never_times_out_and_a_visit_resets_settings(s: Session) -> None:
    s.set_language("en")
    s.toggle("large_text")
    assert s.tick(10_000) is None
    s.start(10_000)
    assert s.tick(10_000 + s.settings.idle_timeout_s + 1) is WipeReason.TIMEOUT
    assert s.language == "ja" and not s.large_text


def test_language_switch_mid_visit_keeps_the_state(s: Session) -> None:
    to_pin(s)
    s.pin_press("1")
    s.set_language("vi")
    assert s.step is Step.PIN and s.pin_digits == "1" and s.language == "vi"
    with pytest.raises(SessionError):
        s.set_language("xx")


def test_ticket_screen_moves_on_by_itself(s: Session) -> None:
    s.start(0)
    s.choose_procedure("juminhyo", 0)
    s.ask_staff(0)
    s.ticket_issued(TICKET, 0)
    assert s.tick(s.settings.ticket_s + 1) is None and s.step is Step.THANKS
    assert s.tick(s.settings.ticket_s + s.settings.thanks_s + 2) is WipeReason.END


def test_cashless_comes_after_the_ticket_and_falls_back_to_the_counter(s: Session) -> None:
    to_confirm(s)
    s.confirm(7)
    s.choose_payment(PayMethod.CASHLESS, 8)
    assert s.step is Step.ISSUING  # the ticket first: a failed payment never loses it
    s.ticket_issued(TICKET, 9)
    assert s.step is Step.CASHLESS and s.ticket == TICKET
    s.payment_finished(False, 10)
    assert s.step is Step.TICKET and s.pay_method is PayMethod.COUNTER and not s.paid
    assert s.notice is not None and "窓口" in s.notice.msgid


def test_cashless_paid(s: Session) -> None:
    to_confirm(s)
    s.confirm(7)
    s.choose_payment(PayMethod.CASHLESS, 8)
    s.ticket_issued(TICKET, 9)
    s.payment_finished(True, 10)
    assert s.step is Step.TICKET and s.paid and s.pay_method is PayMethod.CASHLESS


def test_cashless_refused_when_not_configured(catalog) -> None:  # type: ignore[no-untyped-def]
    s = Session(catalog, "kita", SessionSettings(cashless=False), now=0)
    to_confirm(s)
    s.confirm(7)
    with pytest.raises(SessionError):
        s.choose_payment(PayMethod.CASHLESS, 8)


def test_back_from_confirm_forgets_card_data(s: Session) -> None:
    to_confirm(s)
    s.back(7)
    assert s.step is Step.IDENTITY and "name" not in s.values and s.identity is None
    s.back(8)
    assert s.step is Step.PROCEDURE and s.procedure is None
    s.back(9)
    assert s.step is Step.WELCOME and s.wipes[-1][0] is WipeReason.CANCEL


def test_confirm_refuses_missing_resident_fields(s: Session) -> None:
    s.start(0)
    s.choose_procedure("tennyu", 0)
    s.choose_card(0)
    s.card_present(3, 0)
    type_pin(s)
    s.pin_result(True, None, 0)
    s.card_read(HOLDER, None, Authenticity.GENUINE, 0)
    assert s.fee() == 0  # the confirm screen shows it before the form is complete
    s.confirm(1)
    assert s.step is Step.CONFIRM and s.notice is not None
    assert s.notice.params["field"] == "新住所"


def test_every_procedure_can_be_completed_without_a_card(s: Session) -> None:
    for p in s.procedures:
        s.cancel(0)
        s.start(0)
        s.choose_procedure(p.code, 0)
        s.choose_no_card(0)
        while s.step is Step.ENTRY:
            f = s.entry_field()
            from kiosk.domain.session import EntryMode, entry_mode, field_choices
            mode = entry_mode(f)
            if mode is EntryMode.CHOICE:
                s.entry_done(0, choice=field_choices(f)[0][0])
                continue
            digits = "19850307" if f.kind.value == "date" else "2024"
            for ch in digits if mode is EntryMode.DIGITS else "あいう":
                s.entry_press(ch)
            s.entry_done(0)
        assert s.step is Step.CONFIRM, p.code
        s.confirm(0)
        if s.step is Step.PAYMENT:
            s.choose_payment(PayMethod.COUNTER, 0)
        assert s.step is Step.ISSUING, p.code
        assert s.application().procedure == p.code


def test_touches_are_counted_per_visit(s: Session) -> None:
    s.touch(0)
    s.start(0)
    s.touch(1)
    assert s.visit_touches == 2 and s.touches == 2
    s.cancel(2)
    assert s.visit_touches == 0 and s.touches == 2


def test_kana_keyboard_voicing_and_small() -> None:
    assert kana.press("か", kana.DAKUTEN) == "が"
    assert kana.press("が", kana.DAKUTEN) == "か"
    assert kana.press("は", kana.HANDAKUTEN) == "ぱ"
    assert kana.press("つ", kana.SMALL) == "っ"
    assert kana.press("", kana.DAKUTEN) == ""
    assert kana.press("あ", "・") == "あ"
    assert kana.press("あ" * 60, "い") == "あ" * 60
    assert kana.date_from_digits("20240229") == "2024-02-29"
    assert kana.date_from_digits("20230229") is None


def test_a_newer_catalog_waits_for_the_visit_under_way_to_end(catalog) -> None:  # type: ignore[no-untyped-def]
    """Issue #20: the back-office's new catalog reaches the kiosk at its next sync; a
    resident mid-visit finishes with the fee the visit began with, the next visit has
    the new one; between visits it applies at once."""
    import copy

    from kiosk.domain.catalog import Catalog

    data = copy.deepcopy(dict(catalog.data))
    next(p for p in data["procedures"] if p["code"] == "juminhyo")["fee_yen"] = 350
    dearer = Catalog.from_mapping(data)
    s = Session(catalog, "kita", SessionSettings(cashless=True), now=0.0)
    to_confirm(s)
    assert s.fee() == 300
    assert s.offer_catalog(dearer, None)
    assert s.fee() == 300 and s.catalog is catalog      # the visit keeps its catalog
    s.confirm(7)
    s.choose_payment(PayMethod.COUNTER, 8)
    assert s.fee() == 300
    s.ticket_issued(TICKET, 9)
    s.finish(10)
    s.tick(10 + s.settings.thanks_s + 0.1)
    assert s.step is Step.WELCOME and s.catalog is dearer  # the next visit: the new fee
    to_confirm(s)
    assert s.fee() == 350
    s.wipe(WipeReason.CANCEL, 20)
    # between visits: at once; a catalog without this kiosk's ward is refused
    assert s.offer_catalog(catalog, None) and s.catalog is catalog
    other = Catalog.from_mapping({**catalog.data, "wards": [
        w for w in catalog.data["wards"] if w["code"] != "kita"]})
    assert not s.offer_catalog(other, None) and s.catalog is catalog


def test_idle_only_between_visits(s: Session) -> None:
    """What the health probe and the update agent ask before using the kiosk (issue #20)."""
    assert s.idle()
    s.start(1.0)
    assert not s.idle()
    s.wipe(WipeReason.CANCEL, 2.0)
    assert s.idle()
