"""The 照合番号B entry: what the resident reads off the card face, as the card wants it.

照合番号B is 14 ASCII digits: the birth date as YYMMDD with the **Japanese-era** year
(令和2年2月24日 → 020224), the card's expiry year in 4 Western digits (有効期限), and the
4-digit セキュリティコード — all printed on the card's front. The resident picks the era
and types the rest on a number pad; `code()` checks every part before anything is sent,
so a slip of the finger costs no try of the card's counter.

Personal data (a birth date and the card's security code): it lives here only while it is
typed; the session clears it once handed over and on every wipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from kiosk.domain.wareki import ERAS

# The eras a living resident can be born in, newest first (the era picker's order).
ERA_NAMES: tuple[str, ...] = ("令和", "平成", "昭和", "大正")
FIRST_EXPIRY_YEAR = 2016      # cards were first issued in January 2016
LAST_EXPIRY_YEAR = 2060       # 10th birthday after issue, with margin


class CodeBField(StrEnum):
    YEAR = "year"          # era year, 1-2 digits (元年 = 1)
    MONTH = "month"
    DAY = "day"
    EXPIRY = "expiry"      # the card's expiry year, 4 Western digits
    SECURITY = "security"  # セキュリティコード, 4 digits


LENGTHS = {CodeBField.YEAR: 2, CodeBField.MONTH: 2, CodeBField.DAY: 2,
           CodeBField.EXPIRY: 4, CodeBField.SECURITY: 4}
ORDER = tuple(CodeBField)


def era_start(era: str) -> date:
    for start, name in ERAS:
        if name == era:
            return start
    raise ValueError(f"unknown era {era!r}")


def era_end(era: str) -> date | None:
    """The first day of the next era (exclusive), None for the current one."""
    later = [start for start, _ in ERAS if start > era_start(era)]
    return min(later) if later else None


def western_date(era: str, year: int, month: int, day: int) -> date | None:
    """令和2年2月24日 → date(2020, 2, 24); None if no such day in that era."""
    try:
        d = date(era_start(era).year + year - 1, month, day)
    except ValueError:
        return None
    end = era_end(era)
    if year < 1 or d < era_start(era) or (end is not None and d >= end):
        return None
    return d


@dataclass
class CodeBEntry:
    era: str | None = None
    digits: dict[CodeBField, str] = field(default_factory=lambda: {f: "" for f in ORDER})
    focus: CodeBField = CodeBField.YEAR

    @property
    def empty(self) -> bool:
        return self.era is None and not any(self.digits.values())

    def choose_era(self, era: str) -> None:
        if era not in ERA_NAMES:
            raise ValueError(f"unknown era {era!r}")
        self.era = era

    def focus_on(self, name: str) -> None:
        self.focus = CodeBField(name)

    def press(self, digit: str) -> None:
        """A digit into the focused part; a full part moves the focus on."""
        if len(digit) != 1 or not digit.isascii() or not digit.isdigit():
            return
        current = self.digits[self.focus]
        if len(current) < LENGTHS[self.focus]:
            self.digits[self.focus] = current + digit
        if len(self.digits[self.focus]) == LENGTHS[self.focus]:
            at = ORDER.index(self.focus)
            if at + 1 < len(ORDER):
                self.focus = ORDER[at + 1]

    def back(self) -> None:
        """Erase one digit of the focused part, or of the one before when it is empty."""
        if not self.digits[self.focus]:
            at = ORDER.index(self.focus)
            if at > 0:
                self.focus = ORDER[at - 1]
        self.digits[self.focus] = self.digits[self.focus][:-1]

    def birth_date(self) -> date | None:
        d = self.digits
        if self.era is None or not (d[CodeBField.YEAR] and d[CodeBField.MONTH]
                                    and d[CodeBField.DAY]):
            return None
        return western_date(self.era, int(d[CodeBField.YEAR]), int(d[CodeBField.MONTH]),
                            int(d[CodeBField.DAY]))

    def problem(self) -> str | None:
        """What is missing or impossible (a msgid), or None when `code()` will answer."""
        expiry = self.digits[CodeBField.EXPIRY]
        problem: str | None = None
        if self.era is None:
            problem = "生まれた年の元号をえらんでください。"
        elif self.birth_date() is None:
            problem = "生年月日を確認してください。"
        elif len(expiry) != 4 or not FIRST_EXPIRY_YEAR <= int(expiry) <= LAST_EXPIRY_YEAR:
            problem = "カードの有効期限の年を4けたで入れてください（例：2035）。"
        elif len(self.digits[CodeBField.SECURITY]) != 4:
            problem = "セキュリティコード（4けた）を入れてください。"
        return problem

    def code(self) -> str | None:
        """The 14 digits for the card, or None while `problem()` says something."""
        if self.problem() is not None:
            return None
        d = self.digits
        return (f"{int(d[CodeBField.YEAR]):02d}{int(d[CodeBField.MONTH]):02d}"
                f"{int(d[CodeBField.DAY]):02d}{d[CodeBField.EXPIRY]}{d[CodeBField.SECURITY]}")

    def clear(self) -> None:
        self.era = None
        self.digits = {f: "" for f in ORDER}
        self.focus = CodeBField.YEAR
