"""How good were the wait estimates shown to residents (issue #22; docs/statistics.md).

From `ticket_estimates` (engine/shown.py): every estimate shown whose ticket was later
called, error = estimate − actual (positive: we said longer than it was). Per ward, service
and hour of the office day in which the estimate was shown:
- mae_min: mean absolute error in minutes;
- bias_min: mean signed error in minutes;
- within_5min: share of estimates within ±5 minutes of the actual wait;
- in_range: share whose actual wait fell inside the range shown (only rows that showed one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import local
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading

E = m.ticket_estimates


@dataclass
class Errors:
    """Running sums of estimate errors (seconds)."""

    n: int = 0
    abs_sum: float = 0.0
    signed_sum: float = 0.0
    within: int = 0
    ranged: int = 0
    in_range: int = 0
    errors: list[float] = field(default_factory=list)

    def add(self, estimate: float, actual: float, low: float | None = None,
            high: float | None = None) -> None:
        err = estimate - actual
        self.n += 1
        self.abs_sum += abs(err)
        self.signed_sum += err
        self.within += abs(err) <= 300
        if low is not None and high is not None:
            self.ranged += 1
            self.in_range += low <= actual <= high

    def summary(self) -> dict[str, Any]:
        if not self.n:
            return {"n": 0, "mae_min": None, "bias_min": None, "within_5min": None,
                    "in_range": None}
        return {"n": self.n, "mae_min": round(self.abs_sum / self.n / 60, 2),
                "bias_min": round(self.signed_sum / self.n / 60, 2),
                "within_5min": round(self.within / self.n, 3),
                "in_range": round(self.in_range / self.ranged, 3) if self.ranged else None}


def summarize(rows: Iterable[Any], tz: Any) -> dict[str, Any]:
    cells: dict[tuple[str, str, int], Errors] = defaultdict(Errors)
    wards: dict[str, Errors] = defaultdict(Errors)
    total = Errors()
    for r in rows:
        hour = local(r.at, tz).hour  # type: ignore[union-attr]
        for acc in (cells[(r.ward, r.service, hour)], wards[r.ward], total):
            acc.add(r.estimate_seconds, r.actual_seconds, r.low_seconds, r.high_seconds)
    return {"rows": [{"ward": w, "service": s, "hour": h, **cells[(w, s, h)].summary()}
                     for w, s, h in sorted(cells)],
            "wards": [{"ward": w, **wards[w].summary()} for w in sorted(wards)],
            "total": total.summary()}


def estimate_errors(bo: Backoffice, *, ward: str | None, since: datetime,
                    until: datetime, source: str | None = None) -> dict[str, Any]:
    """The error of the estimates shown in [since, until) (naive UTC), one ward or all."""
    q = select(E.c.ward, E.c.service, E.c.at, E.c.estimate_seconds, E.c.actual_seconds,
               E.c.low_seconds, E.c.high_seconds).where(
        E.c.at >= since, E.c.at < until, E.c.actual_seconds.is_not(None))
    if ward is not None:
        q = q.where(E.c.ward == ward)
    if source is not None:
        q = q.where(E.c.source == source)
    with reading(bo.engine) as conn:
        rows = conn.execute(q).all()
    return summarize(rows, bo.tz)
