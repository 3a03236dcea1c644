"""Time in one place: naive UTC in the database, the office's zone on the wire."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc(moment: datetime) -> datetime:
    """An aware datetime → naive UTC (as stored)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(tz)


def iso(moment: datetime | None, tz: tzinfo) -> str | None:
    value = local(moment, tz)
    return value.isoformat(timespec="milliseconds") if value else None


def office_day(moment: datetime, tz: tzinfo) -> date:
    """The office's calendar day of a stored (naive UTC) moment."""
    return moment.replace(tzinfo=UTC).astimezone(tz).date()
