"""What the kiosk says and chimes, from what it shows: the one hook between the screens
and the voice (kiosk.speech, a device chosen by `[voice] device`).

`KioskApp.refresh` calls `shown()` after every change. With 音声案内 on, a new screen (or a
new language, or the voice just switched on) is spoken: `KioskScreen.spoken()` — by
default the screen's title and its visible words that are not buttons (instructions, the
ticket number, the wait, the fee); a screen may say more by overriding it. A new error is
spoken at once. "読み上げ" (`read_aloud()`) says the whole screen, buttons and a form's
fields included. A visit driven by the tactile keypad hears its numbered choices too
(kiosk.ui.keys). The visit's end (`visit_ended()`) wipes the voice's audio.
"""

from __future__ import annotations

from typing import Any

from kiosk.domain.keypad import KeypadGuide
from kiosk.domain.session import Session, Step
from kiosk.speech import SilentVoice, Voice
from kiosk.ui.sound import Player


class Guidance:
    def __init__(self, player: Player, voice: Voice | None = None) -> None:
        self.player = player
        self.voice: Voice = voice if voice is not None else SilentVoice()
        self._shown: tuple[Step, str, bool] | None = None
        self._notice: object = None
        self.keypad = KeypadGuide()   # the app's keypad input shares it (kiosk.ui.keys)

    def shown(self, app: Any, screen: Any, s: Session) -> None:
        step = s.step
        now = (step, s.language, s.voice)
        before, self._shown = self._shown, now
        new_step = before is None or before[0] is not step
        if step is Step.WELCOME and before is not None and before[0] is not step:
            self.visit_ended()
        if s.voice and before != now:
            self.say(app, self.lines(app, screen, s))
        if new_step and step is Step.TICKET:
            self.player.chime("success")
        if s.notice is not self._notice:
            self._notice = s.notice
            if s.notice is not None and s.notice.error:
                self.player.chime("error")
                if s.voice and not new_step:
                    self.say(app, [screen.notice_text(app, s)])

    def lines(self, app: Any, screen: Any, s: Session, everything: bool = False) -> list[str]:
        """The screen's words, and with the keypad its numbered choices and keys."""
        from kiosk.ui.keys import keypad_lines
        return screen.spoken(app, s, everything) + keypad_lines(app, s, self.keypad)

    def read_aloud(self, app: Any, screen: Any, s: Session) -> None:
        self.say(app, self.lines(app, screen, s, everything=True))

    def say(self, app: Any, lines: list[str]) -> None:
        text = "\n".join(line.strip() for line in lines if line and line.strip())
        self.voice.speak(text, app.lang)

    def visit_ended(self) -> None:
        self.voice.end_session()
        self.keypad.reset()
