"""The public congestion page's figures (issue #19), per ward and service: waiting now,
estimated wait, open counters and a level; today's pattern by hour; the typical week and
a forecast for the coming hours from the history.

Nothing is counted a second way: "now" is the central office's `now_figures` (waiting,
counters open) with the ticket's own estimate (`service_estimate`, as on the phone page);
the hours are `central_hours.hourly_figures` (the central period figures, by hour).
The typical (weekday, hour) is the mean over the history's office days of that weekday on
which the ward issued any ticket; its forecast for the coming hours of today is that mean.
The level comes from a wait and `[public]` thresholds (config_home.PublicSettings.level).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.backoffice import central
from kiosk.backoffice.central_hours import ByHour, HourFigures, hourly_figures
from kiosk.backoffice.clock import iso, local, office_day, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.engine.lookups import is_open, service_estimate, ward_of
from kiosk.domain.catalog import Ward

_memo: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}
_memo_lock = threading.Lock()


def ward_hours(ward: Ward) -> list[int]:
    """The local hours the ward is open in (a partly open hour counts)."""
    last = ward.hours.closes.hour - (1 if ward.hours.closes.minute == 0 else 0)
    return list(range(ward.hours.opens.hour, last + 1))


def _cell(hour: int, figures: HourFigures | None, days: int, level: Any) -> dict[str, Any]:
    if figures is None or days == 0:
        return {"hour": hour, "issued": 0 if days else None, "mean_wait_seconds": None,
                "level": None}
    wait = figures.mean_wait_seconds
    return {"hour": hour, "issued": round(figures.issued / days, 1),
            "mean_wait_seconds": wait, "level": level(wait) if wait is not None else None}


def _typical(cells: Mapping[tuple[date, int], HourFigures]) -> dict[tuple[int, int], HourFigures]:
    out: dict[tuple[int, int], HourFigures] = {}
    for (day, hour), f in cells.items():
        out.setdefault((day.weekday(), hour), HourFigures()).add(f)
    return out


def congestion(bo: Backoffice, ward_code: str, now: datetime | None = None) -> dict[str, Any]:
    """The page's figures for one ward, kept for `[public] cache_seconds` in this process
    (the page is public and cacheable: a crowd reloading it costs one computation)."""
    ward = ward_of(bo, ward_code)
    ttl = bo.settings.public.cache_seconds
    key = (id(bo), ward.code)
    with _memo_lock:
        found = _memo.get(key)
    if now is None and found and time.monotonic() - found[0] < ttl:
        return found[1]
    value = _compute(bo, ward, now or utcnow())
    with _memo_lock:
        _memo[key] = (time.monotonic(), value)
    return value


def _compute(bo: Backoffice, ward: Ward, now: datetime) -> dict[str, Any]:
    pub, tz = bo.settings.public, bo.tz
    today = office_day(now, tz)
    here = now.replace(tzinfo=None)
    local_hour = local(here, tz).hour  # type: ignore[union-attr]
    ward_now = next(w for w in central.now_figures(bo.engine, bo.catalog, here)
                    if w["ward"] == ward.code)
    history = central.Period(today - timedelta(weeks=pub.history_weeks),
                             today - timedelta(days=1))
    past = hourly_figures(bo.engine, bo.catalog, history, [ward.code], tz)
    todays = hourly_figures(bo.engine, bo.catalog, central.Period(today, today), [ward.code],
                            tz)
    open_days = _open_days(past, ward.code)
    hours = ward_hours(ward)
    days_by_weekday = {d: sum(1 for day in open_days if day.weekday() == d) for d in range(7)}
    services = []
    for now_s in ward_now["services"]:
        code = now_s["service"]
        waiting = int(now_s["waiting"])
        wait = service_estimate(bo, ward, code).wait_seconds(waiting)
        typical = _typical(past.get((ward.code, code), {}))
        today_cells = todays.get((ward.code, code), {})
        coming = [h for h in hours if h > local_hour][:pub.forecast_hours]
        services.append({
            "service": code, "name": bo.catalog.services[code].name,
            "waiting": waiting, "estimated_wait_seconds": wait,
            "counters_open": int(now_s["counters_open"]), "level": pub.level(wait),
            "today": [_cell(h, today_cells.get((today, h)), 1, pub.level) for h in hours
                      if h <= local_hour],
            "forecast": [_cell(h, typical.get((today.weekday(), h)),
                               days_by_weekday[today.weekday()], pub.level) for h in coming],
            "week": [{"weekday": d,
                      "hours": [_cell(h, typical.get((d, h)), days_by_weekday[d], pub.level)
                                for h in hours]}
                     for d in ward.hours.weekdays]})
    return {"ward": ward.code, "name": ward.name, "open_now": is_open(bo, ward, here),
            "generated_at": iso(here, tz), "history_weeks": pub.history_weeks,
            "history_days": len(open_days), "hours": hours,
            "levels": {"somewhat_busy_minutes": pub.somewhat_busy_minutes,
                       "busy_minutes": pub.busy_minutes},
            "services": services}


def _open_days(past: ByHour, ward: str) -> set[date]:
    return {day for (w, _s), cells in past.items() if w == ward for (day, _h) in cells}
