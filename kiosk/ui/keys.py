"""The tactile keypad in the app: reads the keypad device (`[keypad] device`), turns its
keys into the resident's actions (kiosk.domain.keypad) and adds what a resident who
cannot see the screen needs to hear: the numbered choices, which keys to press, and the
ticket number twice. Spoken through the voice (kiosk.ui.guidance) like every screen."""

from __future__ import annotations

from typing import Any

from kiosk.domain.keypad import Key, KeypadGuide, choices, typed
from kiosk.domain.session import Session, Step

POLL_S = 0.05   # keys feel immediate; the keypad's read never blocks



def keypad_lines(app: Any, s: Session, guide: KeypadGuide) -> list[str]:
    """What the voice adds to a screen when the visit is driven by the keypad."""
    if not guide.used:
        return []
    lines: list[str] = []
    if s.step is Step.PROCEDURE:
        lines.append(app.tr("番号のキーを押して、決定キーで選びます。消すキーで1つ戻ります。"
                            "取消キーでやめます。繰り返しキーでもう一度お伝えします。"))
    if s.step is not Step.READING and typed(s):
        lines.append(app.tr("数字のキーを押して、最後に決定キーを押してください。"
                            "消すキーで1文字消します。"))
    for c in choices(s):
        lines.append(app.tr("{number}番　{label}", number=c.number, label=app.tr(c.label)))
    if s.step is Step.TICKET and s.ticket is not None:
        number = s.ticket.number
        lines.append(app.tr("番号札の番号は {number} です。", number=number))
        lines.append(app.tr("もう一度お伝えします。番号札の番号は {number} です。",
                            number=number))
    return lines


class KeypadInput:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.guide = KeypadGuide()

    def poll(self) -> None:
        keypad = getattr(self.app, "keypad", None)
        if keypad is None:
            return
        for key in keypad.read():
            self.press(key)

    def press(self, key: Key) -> None:
        app = self.app
        c = app.controller
        if c.busy and key is not Key.CANCEL:
            return   # a card read or the ticket is under way: the voice says when it is done
        c.touch()
        result = self.guide.press(c.session, key)
        if result.repeat:
            app.read_aloud()
        elif result.ignored:
            app.sound.chime("error")
        for action, args in result.actions:
            app.act(action.value, *args)
