"""Response models of the pages a resident opens from home (issue #19): congestion now.
Numbers, codes and catalog names only (extra keys refused, like schemas.py)."""

from __future__ import annotations

from typing import Literal

from kiosk.backoffice.schemas import Out

Level = Literal["free", "somewhat", "busy"]


class HourCell(Out):
    hour: int
    issued: float | None          # tickets issued in the hour (a mean over days for history)
    mean_wait_seconds: int | None
    level: Level | None


class WeekDay(Out):
    weekday: int                  # Monday = 0
    hours: list[HourCell]


class CongestionService(Out):
    service: str
    name: str
    waiting: int
    estimated_wait_seconds: int
    counters_open: int
    level: Level
    today: list[HourCell]
    forecast: list[HourCell]
    week: list[WeekDay]


class Levels(Out):
    somewhat_busy_minutes: int
    busy_minutes: int


class Congestion(Out):
    ward: str
    name: str
    open_now: bool
    generated_at: str | None
    history_weeks: int
    history_days: int
    hours: list[int]
    levels: Levels
    services: list[CongestionService]
