"""Estimate methods compared on the same simulated day (issue #22): at every issue each
method's estimate for that ticket, against the wait it actually had to its first call.

- static: ZMS's method: the configured average service time × people ahead ÷ open counters
  serving the queue (all its counters when none is open);
- learned: the current served estimate (estimate.py: learned mean, fractional capacity);
- clerk: estimate_clerk.py (procedure and hour, schedule, time spent, priority arrivals),
  with its range.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kiosk.backoffice import models as m
from kiosk.backoffice.db import reading
from kiosk.backoffice.engine.lookups import compute_estimate
from kiosk.backoffice.simulation.day import Arrival
from kiosk.backoffice.simulation.driver import Driver
from kiosk.backoffice.waits import Errors

METHODS = ("static", "learned", "clerk")


def static_wait(d: Driver, service: str, ahead: int, open_numbers: set[int]) -> int:
    ward = d.bo.catalog.wards[d.day.ward]
    serving = [c for c in ward.counters if service in c.services]
    n = sum(1 for c in serving if c.number in open_numbers) or len(serving) or 1
    return round(d.bo.catalog.services[service].default_service_minutes * 60 * ahead / n)


class Comparison:
    """A driver observer: each method's estimate at issue; the actual wait at the call."""

    def __init__(self) -> None:
        self.pending: dict[int, dict[str, tuple[int, tuple[int, int] | None]]] = {}
        self.issued_at: dict[int, float] = {}
        self.errors = {name: Errors() for name in METHODS}

    def issued(self, d: Driver, ticket: dict[str, Any], arrival: Arrival) -> None:
        ward = d.bo.catalog.wards[d.day.ward]
        ahead = int(ticket["people_ahead"])
        service = ticket["service"]
        with reading(d.bo.engine) as conn:
            open_numbers = set(conn.execute(select(m.counters.c.number).where(
                m.counters.c.ward == ward.code, m.counters.c.is_open.is_(True))).scalars())
            found: dict[str, tuple[int, tuple[int, int] | None]] = {
                "static": (static_wait(d, service, ahead, open_numbers), None)}
            for name in ("learned", "clerk"):
                est = compute_estimate(d.bo, ward, service, conn, name)
                found[name] = (est.wait_seconds(ahead), est.wait_range(ahead))
        self.pending[ticket["id"]] = found
        self.issued_at[ticket["id"]] = d.now

    def called(self, d: Driver, ticket: dict[str, Any], stage: int) -> None:
        found = self.pending.pop(ticket["id"], None)
        if found is None or stage != 1:
            return
        actual = d.now - self.issued_at.pop(ticket["id"])
        for name, (wait, span) in found.items():
            self.errors[name].add(wait, actual, *(span or (None, None)))

    def summary(self) -> dict[str, Any]:
        out = {name: e.summary() for name, e in self.errors.items()}
        static = out["static"]["mae_min"]
        for name in ("learned", "clerk"):
            mae = out[name]["mae_min"]
            out[name]["vs_static"] = round(mae / static, 3) if mae is not None and static else None
        return out
