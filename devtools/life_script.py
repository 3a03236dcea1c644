"""Scripted life-event visits and their touch count, through the domain session.

A script is a list of steps a resident (or a device) takes:

    ("tap", "<action>", *args)   one touch on a button (kiosk.domain.actions names)
    ("card",)                    the card is placed on the reader (no touch)
    ("pin", "1234")              the PIN pad: one touch per digit and one for OK; the
                                 card is then verified and read once (no touch)
    ("type", "<kana or digits>")  the kana keyboard (or the number pad for digits): one
                                 touch per key, then OK (a tap)

`run(session, script)` plays it on a `kiosk.domain.session.Session` and counts the
touches: taps, PIN touches and keyboard presses apart, so the issue's goal (≤ 15 touches
+ PIN for a 転入 with three procedures) reads off directly. The Kivy kiosk can play the
same script through its widgets (devtools.harness) and compare the count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kiosk.domain import kana
from kiosk.domain.actions import Action, apply
from kiosk.domain.application import Authenticity
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.session import Session

HOLDER = {"name": "山田\u3000花子", "address": "東京都新宿区西新宿２－８－１",
          "birth_date": "1985-03-07", "sex": "2"}
CHECK = MyNumberCheck(masked="********1234", check_digit_ok=True)
NEW_ADDRESS = "さかいし\u3000きたく\u3000しんかなおかちょう"

Step_ = tuple[str, ...]  # one step of a script (see the module's docstring)

# 転入 of a resident on 国保 with a My Number card, no children, no seniors, no dog:
# 転入届 + マイナンバーカードの住所変更 + 国民健康保険の加入 (three procedures here).
TENNYU_THREE: tuple[Step_, ...] = (
    ("tap", "start"),
    ("tap", "choose_life_events"),
    ("tap", "choose_event", "tennyu"),
    ("tap", "answer", "no"),        # 会社の健康保険に入っていますか
    ("tap", "answer", "no"),        # お子さん（高校生まで）はいますか
    ("tap", "answer", "いない"),    # 65歳以上・75歳以上の方はいますか
    ("tap", "answer", "1人"),       # マイナンバーカードをお持ちの方は何人ですか
    ("tap", "answer", "no"),        # 犬を飼っていますか
    ("tap", "accept_plan"),
    ("tap", "choose_card"),
    ("card",),
    ("pin", "1234"),
    ("type", NEW_ADDRESS),          # 新住所: the one field no card and no answer holds
    ("tap", "entry_done", "2026-12-01"),  # 異動日: the "today" button
    ("tap", "confirm"),             # the one review of the three forms
)


# 出生 on 国保: 出生届 + 児童手当 + 子ども医療費助成 + 国保加入 + 出産育児一時金.
SHUSSEI_KOKUHO: tuple[Step_, ...] = (
    ("tap", "start"),
    ("tap", "choose_life_events"),
    ("tap", "choose_event", "shussei"),
    ("tap", "answer", "no"),        # 会社の健康保険に入っていますか
    ("tap", "accept_plan"),
    ("tap", "choose_card"),
    ("card",),
    ("pin", "1234"),
    ("type", "さかい\u3000はると"),  # 子の氏名
    ("type", "20261201"),           # 子の生年月日 (number pad)
    ("tap", "entry_done", "1"),     # 子の性別
    ("tap", "confirm"),
)

# おくやみ of a householder on 国保, 65-74, with a pension: 世帯主変更届 + 国保喪失 + 葬祭費
# + 介護保険喪失 here, 年金 at the 年金事務所.
OKUYAMI_HOUSEHOLDER: tuple[Step_, ...] = (
    ("tap", "start"),
    ("tap", "choose_life_events"),
    ("tap", "choose_event", "okuyami"),
    ("tap", "answer", "yes"),        # 世帯主でしたか
    ("tap", "answer", "yes"),        # 国民健康保険
    ("tap", "answer", "65歳から74歳"),
    ("tap", "answer", "yes"),        # 年金
    ("tap", "answer", "no"),         # 土地や建物
    ("tap", "accept_plan"),
    ("tap", "choose_card"),
    ("card",),
    ("pin", "1234"),
    ("type", "さかい\u3000はなこ"),   # 新しい世帯主
    ("type", "20261128"),            # 変更の日
    ("type", "さかい\u3000たろう"),   # 亡くなった方の氏名
    ("type", "20261130"),            # 葬儀の日
    ("tap", "confirm"),
)

SCRIPTS = {"tennyu": TENNYU_THREE, "shussei": SHUSSEI_KOKUHO, "okuyami": OKUYAMI_HOUSEHOLDER}


@dataclass(frozen=True)
class Touches:
    taps: int   # buttons: answers, choices, OK, confirm …
    pin: int    # the PIN pad (digits + OK)
    keys: int   # kana keyboard presses for typed text

    @property
    def without_pin_and_typing(self) -> int:
        return self.taps

    def to_dict(self) -> dict[str, int]:
        return {"taps": self.taps, "pin": self.pin, "keys": self.keys}


def key_presses(text: str) -> list[str]:
    """The kana keyboard's keys for a text (が = か + ゛, ょ = よ + 小)."""
    plain = {v: k for k, v in kana._VOICED.items()}
    semi = {v: k for k, v in kana._SEMI.items()}
    small = {v: k for k, v in kana._SMALL.items()}
    keys: list[str] = []
    for ch in text:
        if ch in plain:
            keys += [plain[ch], kana.DAKUTEN]
        elif ch in semi:
            keys += [semi[ch], kana.HANDAKUTEN]
        elif ch in small:
            keys += [small[ch], kana.SMALL]
        else:
            keys.append(ch)
    return keys


def run(s: Session, script: Sequence[Step_], *, holder: Mapping[str, str] = HOLDER,
        check: MyNumberCheck | None = CHECK, now: float = 1.0) -> Touches:
    """Play a script on the session; returns the touches it took."""
    taps = pin = keys = 0
    for step in script:
        now += 1.0
        kind = step[0]
        if kind == "tap":
            apply(s, Action(step[1]), tuple(step[2:]), now)
            taps += 1
        elif kind == "pin":
            for d in step[1]:
                apply(s, Action.PIN_PRESS, (d,), now)
            pin += len(step[1]) + 1
            if apply(s, Action.TAKE_PIN, (), now) is not None:
                _read(s, holder, check, now)
        elif kind == "type":  # kana keyboard, or the number pad for digits
            for key in (list(step[1]) if step[1].isdigit() else key_presses(step[1])):
                apply(s, Action.ENTRY_PRESS, (key,), now)
                keys += 1
            apply(s, Action.ENTRY_DONE, (), now)
            taps += 1
        elif kind == "card":
            s.card_present(3, now)
        else:
            raise ValueError(f"unknown script step {step!r}")
    return Touches(taps, pin, keys)


def _read(s: Session, holder: Mapping[str, str], check: MyNumberCheck | None,
          now: float) -> None:
    """What the controller does with a taken PIN: verify it, then read the card once
    (the 個人番号's check only when a chosen form carries it)."""
    s.pin_result(True, None, now)
    needs = s.procedure is not None and s.procedure.needs_my_number
    s.card_read(holder, check if needs else None, Authenticity.GENUINE, now)
