"""The central figures by hour of day (issue #19): arrivals and waits per ward, service,
office day and local hour — the same tickets and the same wait as the central office's
period figures (central.py `_base`: a wait runs from issuing to the first call), bucketed
by the hour the ticket was issued in the office's time zone. The public congestion page
(congestion.py) builds today's pattern, the typical week and its forecast from these.
Numbers only: no ticket, no personal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, tzinfo

from sqlalchemy import Engine, select

from kiosk.backoffice import models as m
from kiosk.backoffice.central import Period, _base
from kiosk.backoffice.db import reading
from kiosk.domain.catalog import Catalog


@dataclass
class HourFigures:
    issued: int = 0
    called: int = 0
    wait_total: float = 0.0

    @property
    def mean_wait_seconds(self) -> int | None:
        return round(self.wait_total / self.called) if self.called else None

    def add(self, other: HourFigures) -> None:
        self.issued += other.issued
        self.called += other.called
        self.wait_total += other.wait_total


# {(ward, service): {(office day, local hour): figures}}
ByHour = dict[tuple[str, str], dict[tuple[date, int], HourFigures]]


def hourly_figures(engine: Engine, catalog: Catalog, period: Period, wards: Iterable[str],
                   tz: tzinfo) -> ByHour:
    codes = [w for w in wards if w in catalog.wards]
    with reading(engine) as conn:
        known = sorted({*catalog.services, *conn.execute(select(m.services.c.code)).scalars()})
        base = _base(catalog, period, codes, known)
        rows = conn.execute(select(base.c.ward, base.c.service, base.c.issued_at,
                                   base.c.wait)).all()
    out: ByHour = {}
    for r in rows:
        at = r.issued_at.replace(tzinfo=UTC).astimezone(tz)
        cell = out.setdefault((r.ward, r.service), {}).setdefault((at.date(), at.hour),
                                                                   HourFigures())
        cell.issued += 1
        if r.wait is not None:
            cell.called += 1
            cell.wait_total += max(float(r.wait), 0.0)
    return out
