"""The ward office's calendar (issue #20): 国民の祝日 and 振替休日 from the pinned `holidays`
library, 年末年始, a ward's own closed days and its special openings decide
`lookups.is_open` together with the weekly hours; [calendar] is validated like the rest of
backoffice.toml."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.backoffice.config import CalendarSettings, Settings
from kiosk.backoffice.engine import lookups, office_days
from kiosk.domain.errors import ConfigError

JST = ZoneInfo("Asia/Tokyo")


def at(day: date, hour: int = 10) -> datetime:
    """A moment of the office's day as stored (naive UTC)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=JST).astimezone(UTC).replace(
        tzinfo=None)


@pytest.mark.parametrize(("day", "name"), [
    (date(2026, 1, 1), "元日"), (date(2026, 5, 6), "振替休日"),
    (date(2026, 9, 22), "国民の休日"), (date(2027, 3, 21), "春分の日")])
def test_national_holidays_come_from_the_library(day: date, name: str) -> None:
    assert office_days.national_holiday(day) == name
    assert office_days.closed_reason(CalendarSettings(), "kita", day) == "national_holiday" \
        or office_days.in_year_end(day)


def test_year_end_and_ward_days() -> None:
    cal = CalendarSettings(closed={"kita": frozenset({date(2026, 12, 1)})},
                           opened={"kita": frozenset({date(2026, 12, 29), date(2027, 1, 2)})})
    assert [office_days.closed_reason(cal, "naka", date(2026, 12, d)) for d in (28, 29, 31)] \
        == [None, "year_end", "year_end"]
    assert office_days.closed_reason(cal, "naka", date(2027, 1, 3)) == "year_end"
    assert office_days.closed_reason(cal, "naka", date(2027, 1, 4)) is None
    assert office_days.closed_reason(cal, "kita", date(2026, 12, 1)) == "ward_closure"
    assert office_days.closed_reason(cal, "naka", date(2026, 12, 1)) is None
    assert office_days.closed_reason(cal, "kita", date(2026, 12, 29)) is None   # 休日開庁
    off = CalendarSettings(national_holidays=False, year_end=False)
    assert office_days.closed_reason(off, "kita", date(2026, 1, 1)) is None


def test_is_open_follows_the_calendar(bo: Any) -> None:
    cal = CalendarSettings(opened={"kita": frozenset({date(2027, 1, 2)})})   # a Saturday
    bo.settings = replace(bo.settings, calendar=cal, queue=replace(
        bo.settings.queue, enforce_opening_hours=True))
    kita = bo.catalog.wards["kita"]
    assert lookups.is_open(bo, kita, at(date(2026, 12, 28)))         # a Monday, in hours
    assert not lookups.is_open(bo, kita, at(date(2026, 12, 28), 20))  # after hours
    assert not lookups.is_open(bo, kita, at(date(2026, 12, 29)))     # 年末年始
    assert not lookups.is_open(bo, kita, at(date(2026, 11, 3)))      # 文化の日, a Tuesday
    assert lookups.is_open(bo, kita, at(date(2027, 1, 2)))           # 休日開庁
    assert not lookups.is_open(bo, kita, at(date(2027, 1, 2), 20))   # … in its hours only
    assert not lookups.is_open(bo, bo.catalog.wards["naka"], at(date(2027, 1, 2)))


def test_the_calendar_section_is_validated() -> None:
    good = Settings.from_mapping({"calendar": {"closed": {"kita": ["2027-03-31"]},
                                               "open": {"naka": ["2027-03-28"]}}})
    assert good.calendar.closed == {"kita": frozenset({date(2027, 3, 31)})}
    assert good.calendar.opened == {"naka": frozenset({date(2027, 3, 28)})}
    with pytest.raises(ConfigError, match=r"calendar\.closed.*kita.*not a date"):
        Settings.from_mapping({"calendar": {"closed": {"kita": ["31/03/2027"]}}})
    with pytest.raises(ConfigError, match="unknown key"):
        Settings.from_mapping({"calendar": {"holidays": True}})
