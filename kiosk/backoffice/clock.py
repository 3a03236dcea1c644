"""Time in one place: naive UTC in the database, the office's zone on the wire.

`simulated(source)` puts the whole engine on another clock (the ward-day simulator,
kiosk/backoffice/simulation): every `utcnow()` reads it instead of the wall clock, so a day
runs as fast as the database allows, with no sleeping. The clock is a context variable, so
a simulation run in one server thread (a staffing what-if) leaves every other request on
the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, tzinfo

_source: ContextVar[Callable[[], datetime] | None] = ContextVar("simulated_clock",
                                                                 default=None)


def utcnow() -> datetime:
    source = _source.get()
    if source is not None:
        return source()
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def simulated(source: Callable[[], datetime]) -> Iterator[None]:
    """Within the block (this thread or task only), `utcnow()` is `source()` (naive UTC)."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def to_utc(moment: datetime) -> datetime:
    """An aware datetime → naive UTC (as stored)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(tz)


# The zone's offset per UTC minute (offsets change only at whole minutes): iso() and
# office_day() of a ticket cost 18 µs through ZoneInfo each time, a few with this.
_OFFSETS: dict[tuple[tzinfo, int, int, int, int, int], tuple[timedelta, str]] = {}


def _offset(moment: datetime, tz: tzinfo) -> tuple[timedelta, str]:
    """`tz`'s offset at the naive UTC `moment`, and its ISO suffix ("+09:00")."""
    key = (tz, moment.year, moment.month, moment.day, moment.hour, moment.minute)
    hit = _OFFSETS.get(key)
    if hit is None:
        aware = moment.replace(tzinfo=UTC).astimezone(tz)
        offset = aware.utcoffset() or timedelta(0)
        text = aware.isoformat(timespec="milliseconds")
        hit = (offset, text[len((moment + offset).isoformat(timespec="milliseconds")):])
        if len(_OFFSETS) > 4096:
            _OFFSETS.clear()
        _OFFSETS[key] = hit
    return hit


def iso(moment: datetime | None, tz: tzinfo) -> str | None:
    """A stored (naive UTC) moment in the office's zone, ISO 8601 to the millisecond."""
    if moment is None:
        return None
    offset, suffix = _offset(moment, tz)
    return (moment + offset).isoformat(timespec="milliseconds") + suffix


def office_day(moment: datetime, tz: tzinfo) -> date:
    """The office's calendar day of a stored (naive UTC) moment."""
    return (moment + _offset(moment, tz)[0]).date()
