"""Resident actions by name (what a button states) applied to the session."""

from __future__ import annotations

import pytest

from kiosk.configfile import load_catalog
from kiosk.domain.actions import Action, apply
from kiosk.domain.session import PayMethod, Session, SessionError, SessionSettings, Step


@pytest.fixture
def s() -> Session:
    return Session(load_catalog(), "kita", SessionSettings(cashless=True), now=0.0)


def test_every_action_names_a_method_of_the_session() -> None:
    for action in Action:
        assert callable(getattr(Session, action.value)), action


def test_actions_by_name_walk_a_card_visit_to_the_pin(s: Session) -> None:
    apply(s, Action("toggle"), ("voice",), 1.0)
    apply(s, Action("start"), (), 2.0)
    apply(s, Action("choose_procedure"), ("juminhyo",), 3.0)
    apply(s, Action("choose_card"), (), 4.0)
    assert s.voice and s.step is Step.CARD and s.step_since == 4.0
    s.card_present(3, 5.0)
    for d in "1234":
        assert apply(s, Action.PIN_PRESS, (d,), 6.0) is None
    assert apply(s, Action.TAKE_PIN, (), 7.0) == "1234"  # handed over once, to verify
    assert s.pin_digits == ""


def test_a_button_payment_name_becomes_the_pay_method(s: Session) -> None:
    apply(s, Action.START, (), 1.0)
    apply(s, Action.CHOOSE_PROCEDURE, ("juminhyo",), 2.0)
    apply(s, Action.ASK_STAFF, (), 3.0)
    assert s.pay_method is PayMethod.COUNTER and s.step is Step.ISSUING


def test_wrong_arguments_are_a_session_error_not_a_crash_elsewhere(s: Session) -> None:
    with pytest.raises(SessionError):
        apply(s, Action.CHOOSE_PROCEDURE, (), 1.0)
    with pytest.raises(SessionError):
        apply(s, Action.TOGGLE, (3,), 1.0)
    with pytest.raises(ValueError):
        Action("setattr")  # only the resident's actions have a name


def test_a_card_failing_mid_read_asks_for_the_card_again(s: Session) -> None:
    apply(s, Action.START, (), 1.0)
    apply(s, Action.CHOOSE_PROCEDURE, ("juminhyo",), 2.0)
    apply(s, Action.CHOOSE_CARD, (), 3.0)
    s.card_present(3, 4.0)
    s.pin_result(True, None, 5.0)
    assert s.step is Step.READING
    s.card_failed("カードが読み取れませんでした。もう一度置いてください。", 6.0)
    assert s.step is Step.CARD and s.notice is not None and s.notice.error
    apply(s, Action.BACK, (), 7.0)
    with pytest.raises(SessionError):
        s.card_failed("x", 8.0)  # only while a card is in use
