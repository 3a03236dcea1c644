"""Which days a ward office is closed, whatever its weekly hours say.

- 国民の祝日 and 振替休日 / 国民の休日 from the `holidays` library (pinned in constraints.txt;
  kept up to date by its maintainers as the law changes, e.g. a moved 体育の日),
- 年末年始: 12/29 to 1/3, the closing days of 行政機関の休日に関する法律,
- a ward's own closed days, and its special openings (休日開庁: open on a day that would be
  closed, within its usual hours) — [calendar] in backoffice.toml.
A special opening wins over everything; then the ward's closed days; then the rest.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date

import holidays

from kiosk.backoffice.config import CalendarSettings

YEAR_END = ((12, 29), (1, 3))   # 年末年始: from 12/29 to 1/3 inclusive


@functools.lru_cache(maxsize=64)
def _national(year: int) -> Mapping[date, str]:
    return dict(holidays.country_holidays("JP", years=year, language="ja"))


def national_holiday(day: date) -> str | None:
    """The holiday's Japanese name (元日, 振替休日, …), or None."""
    return _national(day.year).get(day)


def in_year_end(day: date) -> bool:
    (m1, d1), (m2, d2) = YEAR_END
    return (day.month, day.day) >= (m1, d1) or (day.month, day.day) <= (m2, d2)


def special_opening(cal: CalendarSettings, ward: str, day: date) -> bool:
    return day in cal.opened.get(ward, ())


def closed_reason(cal: CalendarSettings, ward: str, day: date) -> str | None:
    """Why the ward is closed all day (`ward_closure`, `year_end`, `national_holiday`), or
    None when this calendar does not close it (its weekly hours still apply)."""
    if special_opening(cal, ward, day):
        return None
    if day in cal.closed.get(ward, ()):
        return "ward_closure"
    if cal.year_end and in_year_end(day):
        return "year_end"
    if cal.national_holidays and national_holiday(day) is not None:
        return "national_holiday"
    return None
