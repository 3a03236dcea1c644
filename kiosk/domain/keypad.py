"""A visit without seeing the screen: the tactile numeric keypad's keys as the resident's
actions (kiosk.domain.actions). No I/O: the keypad device (kiosk.keypad) reports `Key`s,
the app asks `KeypadGuide.press` what they mean here and the voice says `choices()`.

    digits   the number of a choice said for this screen ("1番 住民票の写し"), then ENTER;
             or the PIN / a date / a year where one is asked
    ENTER    決定: choose the number typed, take what was typed, or (nothing typed) take
             the screen's one way on (申し込む, 終わる)
    BACK     消す: the last digit typed; with nothing typed, the previous screen
    CANCEL   取消: end the visit (everything typed is forgotten)
    REPEAT   もう一度: say the whole screen again, a form's fields included

The first key on the start screen switches the voice on and starts: a resident who
cannot see the screen needs nothing else. On the PIN screen BACK with nothing typed
goes back to the choice of card or staff. Screens that need the kana keyboard (a name
typed without a card) are not offered by key: "職員に手伝ってもらう" is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk.domain.actions import Action
from kiosk.domain.session import EntryMode, PayMethod, Session, Step, entry_mode, field_choices


class Key(StrEnum):
    D0 = "0"
    D1 = "1"
    D2 = "2"
    D3 = "3"
    D4 = "4"
    D5 = "5"
    D6 = "6"
    D7 = "7"
    D8 = "8"
    D9 = "9"
    ENTER = "enter"
    BACK = "back"
    CANCEL = "cancel"
    REPEAT = "repeat"

    @property
    def digit(self) -> str | None:
        return self.value if self.value.isdigit() else None


@dataclass(frozen=True)
class Choice:
    """One numbered choice of a screen: its number, a Japanese msgid and the action."""

    number: int
    label: str
    action: Action
    args: tuple[object, ...] = ()


PAY_LABELS = {
    PayMethod.COUNTER: "窓口で支払う（現金・キャッシュレス）",
    PayMethod.CODE: "QRコードで支払う（スマートフォン）",
    PayMethod.TERMINAL: "カード・電子マネーで支払う（決済端末）",
}
# Where digits are typed, not chosen: the action each digit, BACK and ENTER become.
TYPED = {
    Step.PIN: (Action.PIN_PRESS, Action.PIN_BACK, Action.TAKE_PIN),
    Step.CODE_B: (Action.CODE_B_PRESS, Action.CODE_B_BACK, Action.TAKE_CODE_B),
}


def _numbered(items: list[tuple[str, Action, tuple[object, ...]]]) -> tuple[Choice, ...]:
    return tuple(Choice(i, label, action, args) for i, (label, action, args)
                 in enumerate(items, start=1))


def choices(s: Session) -> tuple[Choice, ...]:
    """The numbered choices the voice says for the session's screen (none where digits
    are typed or the kiosk is busy)."""
    items: list[tuple[str, Action, tuple[object, ...]]] = []
    step = s.step
    if step is Step.PROCEDURE:
        items = [(p.name, Action.CHOOSE_PROCEDURE, (p.code,)) for _g, ps in s.groups()
                 for p in ps]
        if s.events():
            items.append(("引っ越し・出生・おくやみ（まとめて手続き）",
                          Action.CHOOSE_LIFE_EVENTS, ()))
    elif step is Step.EVENT:
        items = [(e.name, Action.CHOOSE_EVENT, (e.code,)) for e in s.events()]
    elif step is Step.QUESTION and s.visit is not None and s.visit.question is not None:
        items = [(label, Action.ANSWER, (value,)) for value, label in s.visit.question.options()]
    elif step is Step.PLAN:
        items = [("この手続きで進む", Action.ACCEPT_PLAN, ())]
    elif step is Step.IDENTITY:
        items = [("マイナンバーカードで", Action.CHOOSE_CARD, ()),
                 ("職員に手伝ってもらう", Action.ASK_STAFF, ())]
    elif step is Step.ENTRY and entry_mode(s.entry_field()) is EntryMode.CHOICE:
        items = [(label, Action.ENTRY_DONE, (value,))
                 for value, label in field_choices(s.entry_field())]
    elif step is Step.CONFIRM:
        items = [("この内容で申し込む", Action.CONFIRM, ())]
    elif step is Step.PAYMENT:
        items = [(PAY_LABELS[m], Action.CHOOSE_PAYMENT, (m.value,))
                 for m in s.payment_choices()]
    elif step is Step.TICKET:
        items = [("終わる", Action.FINISH, ())]
    return _numbered(items)


def typed(s: Session) -> bool:
    """True where digits are typed (PIN, 照合番号B, a date or a year)."""
    if s.step in TYPED:
        return True
    return s.step is Step.ENTRY and entry_mode(s.entry_field()) is EntryMode.DIGITS


@dataclass(frozen=True)
class Press:
    """What one key means: actions to do in order, or `repeat` (say the screen again)."""

    actions: tuple[tuple[Action, tuple[object, ...]], ...] = ()
    repeat: bool = False
    ignored: bool = False   # a key that means nothing here (the app beeps)


class KeypadGuide:
    """Turns keys into actions. `number` is the choice number typed so far (up to two
    digits, chosen by ENTER); `used` says the visit is
    driven by the keypad (the voice then says the numbered choices)."""

    def __init__(self) -> None:
        self.number = ""
        self.used = False

    def reset(self) -> None:
        """The visit ended."""
        self.number = ""
        self.used = False

    def press(self, s: Session, key: Key) -> Press:
        self.used = True
        if key is Key.CANCEL:
            self.number = ""
            return Press(((Action.CANCEL, ()),))
        if key is Key.REPEAT:
            return Press(repeat=True)
        if s.step is Step.WELCOME:
            start: tuple[tuple[Action, tuple[object, ...]], ...] = ((Action.START, ()),)
            return Press(start if s.voice else ((Action.TOGGLE, ("voice",)), *start))
        if typed(s):
            return self._typed(s, key)
        return self._choose(s, key)

    def _typed(self, s: Session, key: Key) -> Press:
        press, back, take = TYPED.get(s.step, (Action.ENTRY_PRESS, Action.ENTRY_BACK,
                                               Action.ENTRY_DONE))
        if key.digit is not None:
            return Press(((press, (key.digit,)),))
        if key is Key.ENTER:
            return Press(((take, ()),))
        typed_text = {Step.PIN: s.pin_digits, Step.ENTRY: s.entry_text}.get(s.step, "x")
        if s.step is Step.CODE_B:
            typed_text = "" if s.code_b.empty else "x"
        return Press(((back if typed_text else Action.BACK, ()),))

    def _choose(self, s: Session, key: Key) -> Press:
        options = {c.number: c for c in choices(s)}
        if key is Key.BACK:
            if self.number:
                self.number = self.number[:-1]
                return Press()
            if s.step in BACKABLE:
                return Press(((Action.BACK, ()),))
            return Press(ignored=True)
        if key.digit is not None:
            # number then ENTER, on every screen: nothing is chosen by a slip of a finger
            if len(self.number) < 2:
                self.number += key.digit
            return Press()
        if key is Key.ENTER:
            typed_number, self.number = self.number, ""
            if typed_number and int(typed_number) in options:
                c = options[int(typed_number)]
                return Press(((c.action, c.args),))
            if not typed_number and len(options) == 1:   # the screen's one way on
                c = next(iter(options.values()))
                return Press(((c.action, c.args),))
        return Press(ignored=True)


BACKABLE = (Step.PROCEDURE, Step.EVENT, Step.QUESTION, Step.PLAN, Step.IDENTITY, Step.CARD,
            Step.PIN, Step.CODE_B, Step.ENTRY, Step.CONFIRM, Step.PAYMENT)
