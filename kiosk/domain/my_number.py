"""The 12-digit 個人番号: check digit and masking. Nothing here stores or logs it.

By law (番号法 Art. 19/20) the kiosk reads the number only for forms that carry it, and
the product never keeps it: the application record holds a masked form and the result
of the check-digit test, and the counter does the legal 番号確認 with the card itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def check_digit(first_eleven: str) -> int:
    """The check digit defined by the 個人番号 ordinance (総務省令 第85号 第5条)."""
    if len(first_eleven) != 11 or not first_eleven.isascii() or not first_eleven.isdigit():
        raise ValueError("need 11 ASCII digits")
    total = 0
    for n in range(1, 12):               # n counts from the right, 1..11
        p = int(first_eleven[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid(number: str) -> bool:
    if len(number) != 12 or not number.isascii() or not number.isdigit():
        return False
    return check_digit(number[:11]) == int(number[11])


def mask(number: str) -> str:
    """Show only the last four digits, as on a counter screen: ********9012."""
    return "*" * max(len(number) - 4, 0) + number[-4:]


@dataclass(frozen=True)
class MyNumberCheck:
    """What an application may carry about the number: never the number itself."""

    masked: str
    check_digit_ok: bool

    @classmethod
    def of(cls, number: str) -> MyNumberCheck:
        return cls(masked=mask(number), check_digit_ok=is_valid(number))

    def to_dict(self) -> dict[str, object]:
        return {"masked": self.masked, "check_digit_ok": self.check_digit_ok}


# What may stand between the digit groups of a written-out number: spaces, hyphens and
# dashes of every width (an IME gives 「－」「ー」「‐」), dots and middle dots.
_SEPARATORS = frozenset(" \t\u3000-‐‑‒–—―−－ー─.．・･,/")
_MAX_GAP = 3  # "1234 - 5678" is still one number; a longer gap starts a new one
MASKED_DIGITS = 4


def _digit_groups(text: str) -> list[list[str]]:
    """Runs of digit groups: digits (any script's decimal digits, so full-width too)
    joined by short separator gaps; anything else ends the run."""
    runs: list[list[str]] = []
    group, gap = "", ""
    run: list[str] = []
    for ch in text + "\x00":
        digit = ch.isdecimal()
        if digit:
            if gap and len(gap) > _MAX_GAP and run:
                runs.append(run)
                run = []
            gap = ""
            group += str(int(ch))
            continue
        if group:
            run.append(group)
            group = ""
        if ch in _SEPARATORS and run:
            gap += ch
            continue
        if run:
            runs.append(run)
        run, gap = [], ""
    return runs


def contains_number(text: str) -> bool:
    """True if `text` holds a 個人番号 as a resident or clerk could write it: 12 digits that
    pass the check digit, in one piece or in groups ("1234 5678 9018", "１２３４－５６７８
    －９０１８"), and not part of a longer digit group. A run of 12 digits failing the check
    digit (most 12-digit values that are not a 個人番号) passes."""
    for run in _digit_groups(text):
        for start in range(len(run)):
            digits = ""
            for group in run[start:]:
                digits += group
                if len(digits) >= 12:
                    break
            if len(digits) == 12 and is_valid(digits):
                return True
    return False


def text_where(data: object, where: str, matches: Callable[[str], bool]) -> str | None:
    """Where in `data` (text, or objects and lists of them, keys included) a text `matches`:
    a path like "application.values.name" or "notes[1]", or None."""
    if isinstance(data, str):
        return where if matches(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            hit = text_where(key, where, matches) or text_where(value, f"{where}.{key}", matches)
            if hit is not None:
                return hit
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            hit = text_where(value, f"{where}[{i}]", matches)
            if hit is not None:
                return hit
    return None


def is_masked(text: str) -> bool:
    """The one masked form the record may hold: eight asterisks and the last four digits."""
    return (len(text) == 12 and text[:8] == "*" * 8 and text[8:].isascii()
            and text[8:].isdigit())
