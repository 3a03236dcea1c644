"""The 12-digit 個人番号: check digit and masking. Nothing here stores or logs it.

By law (番号法 Art. 19/20) the kiosk reads the number only for forms that carry it, and
the product never keeps it: the application record holds a masked form and the result
of the check-digit test, and the counter does the legal 番号確認 with the card itself.
"""

from __future__ import annotations

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
