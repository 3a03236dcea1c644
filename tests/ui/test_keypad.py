"""A visit without seeing the screen: the tactile keypad (its stand-in, read by the app
as the USB keypad is) drives a whole visit on the real Kivy app, and the voice (its
stand-in records the cues) says every screen, its numbered choices and the ticket
number twice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devtools.standins import StandInCard
from hardware.keypad import StandInKeypad
from kiosk.domain.session import Step
from tests.ui.test_visits import place

pytestmark = pytest.mark.kivy


def press(k: Any, *keys: str) -> None:
    """Keys on the keypad, read by the app's own keypad poll, one at a time."""
    for key in keys:
        k.app.keypad.press(key)
        k.app.keys.poll()
        k.h.settle()


def heard(k: Any) -> list[str]:
    return k.app.guidance.voice.texts()


def number_for(k: Any, label: str) -> tuple[str, ...]:
    """The keys for `label` as the voice gave its number on the screen said last (as a
    resident hears it): the number's digits, then 決定."""
    match = re.search(rf"(\d+)番　{re.escape(label)}", heard(k)[-1])
    assert match, (label, heard(k)[-1])
    return (*match.group(1), "enter")


@pytest.fixture
def keypad(kiosk: Any) -> Any:
    kiosk.app.keypad = StandInKeypad()
    yield kiosk
    kiosk.app.keypad = None


def test_a_whole_visit_by_keys_alone_with_every_cue_said_in_order(keypad: Any) -> None:
    k = keypad
    assert not k.s.voice
    press(k, "enter")                      # any key: the voice comes on and the visit starts
    assert k.s.voice and k.s.step is Step.PROCEDURE
    press(k, *number_for(k, "住民票の写し"))
    assert k.s.step is Step.IDENTITY
    press(k, *number_for(k, "マイナンバーカードで"))
    assert k.s.step is Step.CARD
    place(k, StandInCard())
    assert k.s.step is Step.PIN
    press(k, "1", "2", "3", "4", "enter")
    assert k.s.step is Step.CONFIRM
    press(k, *number_for(k, "この内容で申し込む"))
    assert k.s.step is Step.PAYMENT
    press(k, *number_for(k, "窓口で支払う（現金・キャッシュレス）"))
    assert k.s.step is Step.TICKET
    number = k.s.ticket.number
    cues = heard(k)
    press(k, "enter")                      # the ticket screen's one way on: 終わる
    assert k.s.step is Step.THANKS

    expected = ["ご用件をお選びください", "番号のキーを押して、決定キーで選びます",
                "番住民票の写し",
                "本人確認の方法", "番　マイナンバーカードで", "マイナンバーカードを置いてください",
                "暗証番号（数字4けた）", "数字のキーを押して", "内容の確認", "手数料 300円",
                "番　この内容で申し込む", "お支払い方法", "番　窓口で支払う",
                "番号札", f"番号札の番号は {number} です。",
                f"もう一度お伝えします。番号札の番号は {number} です。"]
    said = "\n".join(cues).replace("番　住民票", "番住民票")
    at = 0
    for cue in expected:   # each cue after the one before
        found = said.find(cue, at)
        assert found >= 0, (cue, said[at:at + 400])
        at = found + len(cue)
    assert said.count(number) >= 3   # shown once, and said twice more
    assert not any("1234" in c for c in cues)   # the PIN is never said


def test_back_cancel_and_repeat_keys(keypad: Any) -> None:
    k = keypad
    press(k, "1")
    assert k.s.step is Step.PROCEDURE
    press(k, "9", "9", "enter")            # no such choice: nothing happens
    before = len(heard(k))
    press(k, "repeat")                     # the whole screen again, its choices included
    assert len(heard(k)) == before + 1 and "1番　" in heard(k)[-1]
    press(k, *number_for(k, "住民票の写し"))
    assert k.s.step is Step.IDENTITY
    press(k, "back")
    assert k.s.step is Step.PROCEDURE
    press(k, "cancel")                     # the visit ends: everything is forgotten
    assert k.s.step is Step.WELCOME and not k.s.has_personal_data
    assert not k.app.guidance.keypad.used and heard(k) == []


def test_a_wrong_pin_is_said_and_back_deletes_a_digit(keypad: Any) -> None:
    k = keypad
    press(k, "enter")
    press(k, *number_for(k, "住民票の写し"))
    press(k, "1", "enter")
    place(k, StandInCard(tries=3))
    press(k, "9", "9", "back")
    assert k.s.pin_digits == "9"
    press(k, "9", "9", "9", "enter")
    assert k.s.step is Step.PIN and k.s.notice is not None and k.s.notice.error
    notice = k.app.screen(Step.PIN).notice_text(k.app, k.s)
    assert notice in heard(k)[-1]
    assert k.s.pin_digits == ""            # a refused PIN is gone
    press(k, "back")                       # nothing typed: the screen before
    assert k.s.step is Step.IDENTITY
    press(k, *number_for(k, "職員に手伝ってもらう"))
    assert k.s.step is Step.TICKET and k.s.ticket.assistance
