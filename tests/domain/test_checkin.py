"""Check-in of a booking at the kiosk (issue #19), the domain part: the code typed on
the booking alphabet's keyboard, a scan on the welcome or check-in screen, each refusal
in words (and a walk-in ticket offered where the booking cannot be used), the wipe."""

from __future__ import annotations

import pytest

from kiosk.configfile import load_catalog
from kiosk.domain import checkin
from kiosk.domain.session import BookingInfo, Session, SessionSettings, Step, WipeReason
from tests.domain.test_session import TICKET

CODE = "ABCDEFGH23"


@pytest.fixture
def s() -> Session:
    return Session(load_catalog(), "kita", SessionSettings(), now=0.0)


def test_the_keyboard_has_no_0_o_1_i_and_takes_ten_characters() -> None:
    assert len(checkin.KEYS) == 32 and not set("0O1I") & set(checkin.KEYS)
    e = checkin.CodeEntry()
    for key in "AB0O1I" + "CDEFGH23XYZ":
        e.press(key)
    assert e.text == CODE and e.code() == CODE and e.shown() == "ABCDE FGH23"
    e.back()
    assert e.code() is None and e.shown() == "ABCDE FGH2_"


def test_typed_code_checks_in_and_the_ticket_follows(s: Session) -> None:
    s.choose_check_in(1)
    assert s.step is Step.CHECK_IN and s.progress is None
    for key in CODE[:9]:
        s.checkin_press(key)
    s.take_check_in(2)
    assert s.step is Step.CHECK_IN and s.notice is not None
    assert s.notice.msgid == checkin.INCOMPLETE.msgid
    s.checkin_press(CODE[9])
    s.take_check_in(3)
    assert (s.step, s.booking_code, s.notice) == (Step.ISSUING, CODE, None)
    s.checked_in(TICKET, BookingInfo(service="certificates", procedure="juminhyo"), 4)
    assert s.step is Step.TICKET and s.ticket == TICKET and s.booking_code is None
    assert s.has_personal_data
    s.finish(5)
    s.tick(5 + s.settings.thanks_s)
    assert s.step is Step.WELCOME and not s.has_personal_data
    assert s.wipes[-1][0] is WipeReason.END


def test_a_scan_on_the_welcome_screen_starts_the_check_in_elsewhere_it_is_ignored(
        s: Session) -> None:
    assert s.code_scanned(f"wardappt:{CODE.lower()}", 1)
    assert (s.step, s.booking_code) == (Step.ISSUING, CODE)
    s.check_in_refused(checkin.refusal("offline"), 2)
    assert s.step is Step.CHECK_IN and s.walk_in_offered and s.booking_code is None
    assert s.code_scanned("https://example.jp/not-a-booking", 3)
    assert s.step is Step.CHECK_IN and s.notice is not None
    assert s.notice.msgid == checkin.NOT_A_BOOKING.msgid and not s.walk_in_offered
    s.cancel(4)
    s.start(5)
    assert not s.code_scanned(CODE, 6) and s.step is Step.PROCEDURE


@pytest.mark.parametrize(("code", "details", "expected", "walk_in"), [
    ("no_booking", None, checkin.UNKNOWN.msgid, False),
    ("wrong_ward", {"ward": "naka"}, checkin.OTHER_WARD.msgid, False),
    ("too_early", {"slot": "2026-12-07T10:00", "opens": "2026-12-07T09:30"},
     checkin.TOO_EARLY.msgid, False),
    ("booking_missed", None, checkin.MISSED.msgid, True),
    ("not_bookable", None, checkin.UNUSABLE.msgid, True),
    ("offline", None, checkin.UNREACHABLE.msgid, True),
    ("http_500", None, checkin.FAILED.msgid, True),
])
def test_every_refusal_has_its_words(code: str, details: dict[str, str] | None,
                                     expected: str, walk_in: bool) -> None:
    why = checkin.refusal(code, details, ward_name="中区役所")
    assert (why.msgid, why.walk_in) == (expected, walk_in)
    if code == "too_early":
        assert why.params == {"opens": "2026-12-07 09:30", "slot": "2026-12-07 10:00"}
    if code == "wrong_ward":
        assert why.params == {"ward": "中区役所"}


def test_walk_in_after_a_refusal_goes_to_the_procedures_and_back_goes_home(
        s: Session) -> None:
    s.choose_check_in(1)
    s.checkin_press("A")
    s.back(2)
    assert s.step is Step.WELCOME and not s.has_personal_data
    s.code_scanned(CODE, 3)
    s.check_in_refused(checkin.refusal("booking_missed"), 4)
    s.walk_in(5)
    assert s.step is Step.PROCEDURE and s.notice is None
