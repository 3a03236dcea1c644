"""clock.iso and clock.office_day (a cached offset per UTC minute) equal ZoneInfo's answer,
across daylight-saving changes and odd offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.backoffice.clock import iso, office_day


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Europe/Berlin", "America/New_York",
                                  "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"])
def test_iso_and_office_day_as_zoneinfo(zone):
    tz = ZoneInfo(zone)
    start = datetime(2026, 1, 1, 0, 0, 0, 123456)
    for i in range(40_000):  # every 13 min 7.9 s for a year and a half
        moment = start + timedelta(seconds=787.9 * i)
        aware = moment.replace(tzinfo=UTC).astimezone(tz)
        assert iso(moment, tz) == aware.isoformat(timespec="milliseconds"), moment
        assert office_day(moment, tz) == aware.date(), moment
    assert iso(None, tz) is None
