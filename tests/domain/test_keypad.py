"""The keypad's keys as the resident's actions (kiosk.domain.keypad): no I/O."""

from __future__ import annotations

import pytest

from kiosk.configfile import load_catalog
from kiosk.domain.actions import Action, apply
from kiosk.domain.keypad import Key, KeypadGuide, choices, typed
from kiosk.domain.session import Session, SessionSettings, Step


@pytest.fixture
def s() -> Session:
    return Session(load_catalog(), "kita", SessionSettings(), now=0.0)


def keys(s: Session, guide: KeypadGuide, *pressed: str) -> None:
    for k in pressed:
        for action, args in guide.press(s, Key(k)).actions:
            apply(s, action, args, 0.0)


def test_first_key_turns_the_voice_on_and_starts(s: Session) -> None:
    g = KeypadGuide()
    keys(s, g, "5")
    assert s.voice and s.step is Step.PROCEDURE and g.used


def test_a_choice_is_its_number_then_enter(s: Session) -> None:
    g = KeypadGuide()
    keys(s, g, "enter")
    juminhyo = next(c for c in choices(s) if c.args == ("juminhyo",))
    keys(s, g, *str(juminhyo.number))
    assert s.step is Step.PROCEDURE            # nothing chosen before 決定
    keys(s, g, "enter")
    assert s.step is Step.IDENTITY and s.procedure is not None
    assert [c.action for c in choices(s)] == [Action.CHOOSE_CARD, Action.ASK_STAFF]


def test_a_slip_is_undone_by_back_and_an_unknown_number_is_ignored(s: Session) -> None:
    g = KeypadGuide()
    keys(s, g, "enter", "9", "9")
    press = g.press(s, Key.ENTER)
    assert press.ignored and not press.actions and g.number == ""
    keys(s, g, "4", "back")
    assert g.number == "" and s.step is Step.PROCEDURE
    keys(s, g, "back")                          # nothing typed: the screen before
    assert s.step is Step.WELCOME


def test_pin_digits_back_and_enter(s: Session) -> None:
    g = KeypadGuide()
    keys(s, g, "enter")
    s.choose_procedure("juminhyo", 0.0)
    s.choose_card(0.0)
    s.card_present(3, 0.0)
    assert typed(s) and choices(s) == ()
    keys(s, g, "1", "2", "9", "back", "3", "4")
    assert s.pin_digits == "1234"
    take = g.press(s, Key.ENTER).actions
    assert take == ((Action.TAKE_PIN, ()),)


def test_cancel_ends_and_repeat_asks_for_the_screen_again(s: Session) -> None:
    g = KeypadGuide()
    keys(s, g, "enter")
    assert g.press(s, Key.REPEAT).repeat
    assert g.press(s, Key.CANCEL).actions == ((Action.CANCEL, ()),)
    g.reset()
    assert not g.used and g.number == ""
