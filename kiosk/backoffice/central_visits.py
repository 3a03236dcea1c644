"""Routed visits in the central figures (issue #17): per-stage waits and time in office.

Over the period's office days, per ward and per service:
* a stage's wait runs from its arrival in the service's queue (issue for the first stage,
  the previous stage's completion for the others) to its call; its service time from start
  to completion — both over the stages that were completed;
* time in office runs from issuing to the completion of the last stage, over the routed
  visits that ended done; per service it is counted in the visit's first stage's service.
Counted in SQL (SQLite and PostgreSQL alike); numbers only, no personal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, func, select

from kiosk.backoffice import models as m
from kiosk.backoffice.central import Period, _seconds, seconds_between
from kiosk.backoffice.db import reading

T = m.tickets
S = m.ticket_stages


def visit_figures(engine: Engine, period: Period, wards: Iterable[str]
                  ) -> dict[str, dict[str, Any]]:
    """{ward: {"visits", "completed", "mean_time_in_office_seconds",
    "max_time_in_office_seconds", "services": [{service, stages, mean_stage_wait_seconds,
    mean_stage_service_seconds, visits, mean_time_in_office_seconds}]}}."""
    codes = list(wards)
    in_period = (T.c.ward.in_(codes), T.c.day >= period.first, T.c.day <= period.last,
                 T.c.stage.is_not(None))
    in_office = seconds_between(T.c.issued_at, T.c.completed_at)
    with reading(engine) as conn:
        stage_rows = conn.execute(
            select(S.c.ward, S.c.service, func.count().label("n"),
                   func.avg(seconds_between(S.c.arrived_at, S.c.called_at)).label("wait"),
                   func.avg(seconds_between(S.c.started_at, S.c.completed_at)).label("serve"))
            .join(T, T.c.id == S.c.ticket_id)
            .where(*in_period, S.c.status == "done").group_by(S.c.ward, S.c.service)).all()
        visit_rows = conn.execute(
            select(T.c.ward, T.c.origin_service, func.count().label("n"),
                   func.count(T.c.completed_at).label("done"),
                   func.avg(in_office).label("mean"), func.max(in_office).label("max"))
            .where(*in_period)
            .group_by(T.c.ward, T.c.origin_service)).all()
    out: dict[str, dict[str, Any]] = {}
    for code in codes:
        services: dict[str, dict[str, Any]] = {}
        for r in stage_rows:
            if r.ward == code:
                services.setdefault(r.service, _empty(r.service)).update(
                    stages=int(r.n), mean_stage_wait_seconds=_seconds(r.wait),
                    mean_stage_service_seconds=_seconds(r.serve))
        visits = [r for r in visit_rows if r.ward == code]
        done = sum(int(r.done) for r in visits)
        for r in visits:
            services.setdefault(r.origin_service, _empty(r.origin_service)).update(
                visits=int(r.n), mean_time_in_office_seconds=_seconds(r.mean))
        mean = (sum(float(r.mean) * int(r.done) for r in visits if r.mean is not None) / done
                if done else None)
        longest = [float(r.max) for r in visits if r.max is not None]
        out[code] = {"visits": sum(int(r.n) for r in visits), "completed": done,
                     "mean_time_in_office_seconds": _seconds(mean),
                     "max_time_in_office_seconds": _seconds(max(longest)) if longest else None,
                     "services": sorted(services.values(), key=lambda s: s["service"])}
    return out


def _empty(service: str) -> dict[str, Any]:
    return {"service": service, "stages": 0, "mean_stage_wait_seconds": None,
            "mean_stage_service_seconds": None, "visits": 0,
            "mean_time_in_office_seconds": None}
