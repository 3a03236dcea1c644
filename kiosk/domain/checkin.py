"""Check-in of a booking at the kiosk (予約の方, issue #19), the pure part: the code as
the resident types it on the on-screen keyboard (10 characters of the booking alphabet:
no 0/O, no 1/I), what was scanned, and what the resident is told when the back-office
refuses the code or cannot be reached. No Kivy, no I/O; the session holds one entry.

The back-office's answers (`POST /api/v1/appointments/check-in`, docs/home.md):

    404 no_booking      the code is nobody's (a typo)
    403 wrong_ward      the booking is at another ward office (details: ward)
    409 too_early       before check_in_early_minutes ahead (details: slot, opens)
    409 booking_missed  after no_show_minutes, or another day: a walk-in ticket instead
    409 not_bookable    cancelled (or a no-show already marked)
    (unreachable)       offline: say so, offer a walk-in ticket; nothing is lost — the
                        booking stays as it is and the code still works later
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kiosk.domain.appointments import CODE_ALPHABET, CODE_LENGTH, normal_code

# The keyboard: the alphabet in order (letters, then digits), 8 keys a row.
KEYS: tuple[str, ...] = tuple(CODE_ALPHABET)
OFFLINE = "offline"   # the refusal code when the back-office could not be reached


@dataclass
class CodeEntry:
    """The booking code while typed (it is the booking's key: forgotten with the visit)."""

    text: str = ""

    def press(self, key: str) -> None:
        if key in KEYS and len(self.text) < CODE_LENGTH:
            self.text += key

    def back(self) -> None:
        self.text = self.text[:-1]

    def clear(self) -> None:
        self.text = ""

    def code(self) -> str | None:
        """The complete code, or None while it is not 10 characters of the alphabet."""
        return normal_code(self.text)

    def shown(self) -> str:
        """As the booking page prints it: 5 + 5 with a space, blanks as underscores."""
        padded = self.text.ljust(CODE_LENGTH, "_")
        return f"{padded[:5]} {padded[5:]}"


@dataclass(frozen=True)
class Refusal:
    """What the resident is told (a msgid and its placeholders) and whether the screen
    offers a walk-in ticket instead."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)
    walk_in: bool = False


NOT_A_BOOKING = Refusal("この二次元コードは予約のものではありません。予約番号を"
                        "入力してください。")
INCOMPLETE = Refusal("予約番号は10文字です。すべて入力してください。")
UNKNOWN = Refusal("この予約番号の予約は見つかりません。番号をお確かめください。")
OTHER_WARD = Refusal("この予約は{ward}の予約です。予約した区役所でお手続きください。")
SOME_WARD = Refusal("この予約はほかの区役所の予約です。予約した区役所でお手続きください。")
TOO_EARLY = Refusal("受付は{opens}からです（予約は{slot}）。その時刻になったら、"
                    "もう一度お手続きください。")
MISSED = Refusal("予約の時刻を過ぎたため、この予約は使えません。予約なしの番号札を"
                 "お取りいただけます。", walk_in=True)
PLACE_MISSED = Refusal("順番が近づいてから受付までの時間を過ぎたため、この順番は使えません。"
                      "予約なしの番号札をお取りいただけます。", walk_in=True)
UNUSABLE = Refusal("この予約は取り消されたか、すでに使えません。予約なしの番号札を"
                   "お取りいただけます。", walk_in=True)
UNREACHABLE = Refusal("ただいま予約を確認できません（通信できません）。予約なしの番号札を"
                      "お取りいただけます。予約はそのまま残ります。", walk_in=True)
FAILED = Refusal("予約を確認できませんでした。職員をお呼びください。", walk_in=True)


def refusal(code: str, details: Mapping[str, object] | None = None,
            ward_name: str = "") -> Refusal:
    """The back-office's refusal (its error code and details) as the resident's message.
    `ward_name`: the booking's ward office as the kiosk's catalog names it (wrong_ward)."""
    d = dict(details or {})
    if code == "wrong_ward":
        return replace(OTHER_WARD, params={"ward": ward_name}) if ward_name else SOME_WARD
    if code == "too_early":
        return replace(TOO_EARLY, params={"opens": _when(str(d.get("opens", ""))),
                                          "slot": _when(str(d.get("slot", "")))})
    return {"no_booking": UNKNOWN, "booking_missed": MISSED, "not_bookable": UNUSABLE,
            "place_missed": PLACE_MISSED, "not_waiting": UNUSABLE,
            OFFLINE: UNREACHABLE}.get(code, FAILED)


def _when(text: str) -> str:
    """"2026-12-07T09:30" (the office's time) → "2026-12-07 09:30": the same in every
    language, and the day matters (a booking for another day is too early too)."""
    return text.replace("T", " ")[:16]
