"""The pure part of appointments (kiosk.domain.appointments): codes, capacity, slots,
年末年始, the calendar's precedence and the fairness rule."""

from __future__ import annotations

from datetime import date, datetime, time

from kiosk.domain.appointments import (
    CODE_ALPHABET,
    AppointmentRules,
    Calendar,
    new_code,
    normal_code,
    queued_at,
    slot_starts,
    year_end,
)
from kiosk.domain.catalog import OpeningHours

HOURS = OpeningHours(time(8, 45), time(17, 15), (0, 1, 2, 3, 4))


def test_codes_are_read_back_however_typed() -> None:
    code = new_code(lambda n: 5)
    assert code == CODE_ALPHABET[5] * 10
    assert normal_code(" wardappt:abcd-efgh-jk ") == "ABCDEFGHJK"
    assert normal_code("ABCDEFGHJ0") is None  # 0 is not in the alphabet
    assert normal_code("short") is None


def test_capacity_and_slots() -> None:
    rules = AppointmentRules(slot_minutes=15, counters=2)
    assert rules.capacity(4) == 6 and rules.capacity(20) == 2
    starts = slot_starts(date(2026, 12, 7), HOURS, rules)
    assert starts[0] == time(8, 45) and starts[-1] == time(17, 0) and len(starts) == 34


def test_calendar_precedence() -> None:
    holiday = date(2026, 11, 23)
    cal = Calendar(HOURS, {holiday}, closures={date(2026, 12, 8)},
                   openings={date(2026, 12, 13), holiday})
    assert cal.open_on(holiday)            # a special opening wins over the holiday
    assert not cal.open_on(date(2026, 12, 8)) and cal.open_on(date(2026, 12, 13))
    assert not cal.open_on(date(2026, 12, 12))  # a Saturday
    assert [year_end(date(2026, 12, d)) for d in (28, 29, 31)] == [False, True, True]
    assert year_end(date(2027, 1, 3)) and not year_end(date(2027, 1, 4))


def test_the_fairness_rule() -> None:
    slot = datetime(2026, 12, 7, 10, 0)
    assert queued_at(datetime(2026, 12, 7, 9, 40), slot, 10) == datetime(2026, 12, 7, 9, 40)
    assert queued_at(datetime(2026, 12, 7, 9, 58), slot, 10) == datetime(2026, 12, 7, 9, 50)
