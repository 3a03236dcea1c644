"""The resident's actions, by name: what a button of the kiosk states once (`action:` in
its `.kv` rule) and what `apply` turns into a typed call of the session.

A button's action is a name followed by its arguments, e.g. `['toggle', 'voice']` or
`['choose_procedure', 'juminhyo']`; the screen tests find buttons by it too.
"""

from __future__ import annotations

from enum import StrEnum

from kiosk.domain.session import PayMethod, Session, SessionError


class Action(StrEnum):
    SET_LANGUAGE = "set_language"
    TOGGLE = "toggle"
    START = "start"
    CHOOSE_CHECK_IN = "choose_check_in"
    CHECKIN_PRESS = "checkin_press"
    CHECKIN_BACK = "checkin_back"
    TAKE_CHECK_IN = "take_check_in"
    WALK_IN = "walk_in"
    CHOOSE_PROCEDURE = "choose_procedure"
    CHOOSE_LIFE_EVENTS = "choose_life_events"
    CHOOSE_EVENT = "choose_event"
    ANSWER = "answer"
    ADD_ITEM = "add_item"
    DROP_ITEM = "drop_item"
    ACCEPT_PLAN = "accept_plan"
    CHOOSE_CARD = "choose_card"
    CHOOSE_NO_CARD = "choose_no_card"
    ASK_STAFF = "ask_staff"
    PIN_PRESS = "pin_press"
    PIN_BACK = "pin_back"
    TAKE_PIN = "take_pin"
    CHOOSE_CODE_B = "choose_code_b"
    CODE_B_ERA = "code_b_era"
    CODE_B_FOCUS = "code_b_focus"
    CODE_B_PRESS = "code_b_press"
    CODE_B_BACK = "code_b_back"
    TAKE_CODE_B = "take_code_b"
    EDIT = "edit"
    ENTRY_PRESS = "entry_press"
    ENTRY_BACK = "entry_back"
    ENTRY_DONE = "entry_done"
    CHOOSE_KEYBOARD = "choose_keyboard"
    ENTRY_PICK = "entry_pick"
    SET_COUNT = "set_count"
    TOGGLE_FLAG = "toggle_flag"
    CONFIRM = "confirm"
    CHOOSE_PAYMENT = "choose_payment"
    PAYMENT_FINISHED = "payment_finished"
    FINISH = "finish"
    BACK = "back"
    CANCEL = "cancel"


def apply(session: Session, action: Action, args: tuple[object, ...], now: float) -> str | None:
    """Do one resident action; returns the PIN to verify after `TAKE_PIN` (照合番号B after
    `TAKE_CODE_B`), else None."""
    s = session
    match action:
        case Action.SET_LANGUAGE:
            s.set_language(_text(args, 0))
        case Action.TOGGLE:
            s.toggle(_text(args, 0))
        case Action.START:
            s.start(now)
        case Action.CHOOSE_CHECK_IN:
            s.choose_check_in(now)
        case Action.CHECKIN_PRESS:
            s.checkin_press(_text(args, 0))
        case Action.CHECKIN_BACK:
            s.checkin_back()
        case Action.TAKE_CHECK_IN:
            s.take_check_in(now)
        case Action.WALK_IN:
            s.walk_in(now)
        case Action.CHOOSE_PROCEDURE:
            s.choose_procedure(_text(args, 0), now)
        case Action.CHOOSE_LIFE_EVENTS:
            s.choose_life_events(now)
        case Action.CHOOSE_EVENT:
            s.choose_event(_text(args, 0), now)
        case Action.ANSWER:
            s.answer(_text(args, 0), now)
        case Action.ADD_ITEM:
            s.add_item(_text(args, 0))
        case Action.DROP_ITEM:
            s.drop_item(_text(args, 0))
        case Action.ACCEPT_PLAN:
            s.accept_plan(now)
        case Action.CHOOSE_CARD:
            s.choose_card(now)
        case Action.CHOOSE_NO_CARD:
            s.choose_no_card(now)
        case Action.ASK_STAFF:
            s.ask_staff(now)
        case Action.PIN_PRESS:
            s.pin_press(_text(args, 0))
        case Action.PIN_BACK:
            s.pin_back()
        case Action.TAKE_PIN:
            return s.take_pin()
        case Action.CHOOSE_CODE_B:
            s.choose_code_b(now)
        case Action.CODE_B_ERA:
            s.code_b_era(_text(args, 0))
        case Action.CODE_B_FOCUS:
            s.code_b_focus(_text(args, 0))
        case Action.CODE_B_PRESS:
            s.code_b_press(_text(args, 0))
        case Action.CODE_B_BACK:
            s.code_b_back()
        case Action.TAKE_CODE_B:
            return s.take_code_b()
        case Action.EDIT:
            s.edit(_text(args, 0), now)
        case Action.ENTRY_PRESS:
            s.entry_press(_text(args, 0))
        case Action.ENTRY_BACK:
            s.entry_back()
        case Action.ENTRY_DONE:
            s.entry_done(now, _text(args, 0) if args else None)
        case Action.ENTRY_PICK:
            s.entry_pick(_text(args, 0))
        case Action.CHOOSE_KEYBOARD:
            s.choose_keyboard(_text(args, 0))
        case Action.SET_COUNT:
            s.set_count(_text(args, 0), _number(args, 1))
        case Action.TOGGLE_FLAG:
            s.toggle_flag(_text(args, 0), _text(args, 1))
        case Action.CONFIRM:
            s.confirm(now)
        case Action.CHOOSE_PAYMENT:
            s.choose_payment(PayMethod(_text(args, 0)), now)
        case Action.PAYMENT_FINISHED:
            s.payment_finished(bool(_arg(args, 0)), now)
        case Action.FINISH:
            s.finish(now)
        case Action.BACK:
            s.back(now)
        case Action.CANCEL:
            s.cancel(now)
    return None


def _arg(args: tuple[object, ...], i: int) -> object:
    if i >= len(args):
        raise SessionError(f"argument {i + 1} is missing")
    return args[i]


def _text(args: tuple[object, ...], i: int) -> str:
    value = _arg(args, i)
    if not isinstance(value, str):
        raise SessionError(f"argument {i + 1} is not a text: {value!r}")
    return value


def _number(args: tuple[object, ...], i: int) -> int:
    value = _arg(args, i)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SessionError(f"argument {i + 1} is not a whole number: {value!r}")
    return value
