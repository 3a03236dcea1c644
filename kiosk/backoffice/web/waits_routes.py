"""How good the wait estimates shown to residents were (issue #22; docs/statistics.md):

* ``GET /api/v1/wards/{ward}/estimate-accuracy?from=&to=`` — a ward's supervisors (and its
  admins): per service and hour of the office day, the estimates shown and their error;
* ``GET /api/v1/central/estimate-accuracy?from=&to=`` — 本庁: every ward, the same figures;
* ``GET /api/v1/central/estimate-accuracy.csv?from=&to=`` — the same for Excel;
* ``GET /api/v1/wards/{ward}/what-if?service=&counters=&start=&end=&weekday=&months=`` — a
  staffing what-if on the ward's own history (simulation/history.py), for its supervisors
  and 本庁 alike: the p90 wait with N counters of a service in a window, and as staffed.
  Each matching day is replayed twice through the engine on a scratch database, so only the
  latest WHAT_IF_DAYS matching days are used (seconds of work per request).

Numbers only: no ticket, no person. Office days `from`..`to` both included (today when
absent), at most central.MAX_PERIOD_DAYS.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice.auth import Principal, require, require_staff
from kiosk.backoffice.clock import to_utc
from kiosk.backoffice.deps import PRIVATE
from kiosk.backoffice.engine.errors import invalid
from kiosk.backoffice.engine.lookups import ward_of
from kiosk.backoffice.principal import Callers
from kiosk.backoffice.schemas import Out
from kiosk.backoffice.simulation.history import what_if
from kiosk.backoffice.waits import estimate_errors
from kiosk.backoffice.web.central_routes import CENTRAL, From, To, _bo, period_of
from kiosk.backoffice.web.routes import API, NO_STORE

router = APIRouter(include_in_schema=False)
SUPERVISOR = Depends(require_staff("supervisor"))


class _Planners(Callers):
    """A ward's supervisors (and admins) or 本庁: who may ask a staffing what-if."""

    def admit(self, principal: Principal) -> bool:
        return principal.kind == "staff" and (principal.has_role("supervisor")
                                              or principal.has_role("central"))

    def refusal(self) -> str:
        return "this needs a supervisor of the ward or 本庁 (central)"


PLANNERS = Depends(require(_Planners(role="supervisor", devices=())))
WardPath = Annotated[str, Path(max_length=32, pattern=r"^[a-z0-9_-]+$")]


class Accuracy(Out):
    n: int
    mae_min: float | None
    bias_min: float | None
    within_5min: float | None
    in_range: float | None


class AccuracyCell(Accuracy):
    ward: str
    service: str
    hour: int


class AccuracyWard(Accuracy):
    ward: str


class EstimateAccuracy(Out):
    from_: str = Field(alias="from")
    to: str
    ward: str | None
    rows: list[AccuracyCell]
    wards: list[AccuracyWard]
    total: Accuracy


def _figures(request: Request, ward: str | None, first: str | None,
             last: str | None) -> dict[str, Any]:
    bo = _bo(request)
    period = period_of(bo, first, last)

    def start(day: Any) -> datetime:
        return to_utc(datetime.combine(day, time(0), tzinfo=bo.tz).astimezone(UTC))

    figures = estimate_errors(bo, ward=ward, since=start(period.first),
                              until=start(period.last + timedelta(days=1)))
    return {"from": period.first.isoformat(), "to": period.last.isoformat(), "ward": ward,
            **figures}


@router.get(f"{API}/wards/{{ward}}/estimate-accuracy", response_model=EstimateAccuracy,
            dependencies=PRIVATE)
async def ward_accuracy(request: Request, ward: WardPath, first: From = None,
                        last: To = None, who: Principal = SUPERVISOR) -> dict[str, Any]:
    code = ward_of(_bo(request), ward).code
    who.check_ward(code)
    return await run_in_threadpool(_figures, request, code, first, last)


@router.get(f"{API}/central/estimate-accuracy", response_model=EstimateAccuracy,
            dependencies=PRIVATE)
async def central_accuracy(request: Request, first: From = None, last: To = None,
                           who: Principal = CENTRAL) -> dict[str, Any]:
    return await run_in_threadpool(_figures, request, None, first, last)


WHAT_IF_DAYS = 4
Clock = Annotated[str, Query(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class WhatIfOut(Out):
    ward: str
    service: str
    counters: int
    start: str
    end: str
    days: list[str]
    baseline_p90_min: float | None
    what_if_p90_min: float | None
    baseline_window_p90_min: float | None
    what_if_window_p90_min: float | None
    assumptions: str


@router.get(f"{API}/wards/{{ward}}/what-if", response_model=WhatIfOut, dependencies=PRIVATE)
async def ward_what_if(request: Request, ward: WardPath, service: Annotated[str, Query(
        max_length=32)], counters: Annotated[int, Query(ge=1, le=50)], start: Clock,
        end: Clock, weekday: Annotated[int | None, Query(ge=0, le=6)] = None,
        months: Annotated[str | None, Query(pattern=r"^(1[0-2]|[1-9])(,(1[0-2]|[1-9]))*$")]
        = None, who: Principal = PLANNERS) -> dict[str, Any]:
    bo = _bo(request)
    code = ward_of(bo, ward).code
    if not who.has_role("central"):
        who.check_ward(code)
    if service not in bo.catalog.wards[code].services:
        raise invalid("unknown_service", f"ward {code} does not offer service {service!r}",
                      field="service")
    first, last = time.fromisoformat(start), time.fromisoformat(end)
    if last <= first:
        raise invalid("validation_error", "the window ends before it starts", field="end")
    found = await run_in_threadpool(
        what_if, bo, code, service, counters, first, last, weekday,
        {int(x) for x in months.split(",")} if months else None, WHAT_IF_DAYS)
    return {**asdict(found), "ward": code, "start": start, "end": end}


COLUMNS = ("ward", "service", "hour", "n", "mae_min", "bias_min", "within_5min", "in_range")


@router.get(f"{API}/central/estimate-accuracy.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def central_accuracy_csv(request: Request, first: From = None, last: To = None,
                               who: Principal = CENTRAL) -> Response:
    figures = await run_in_threadpool(_figures, request, None, first, last)
    out = io.StringIO()
    out.write("\ufeff")  # Excel in Japan reads a CSV as Shift_JIS unless it starts with a BOM
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMNS)
    w.writerows([r[c] for c in COLUMNS] for r in figures["rows"])
    name = f"estimate-accuracy-{figures['from']}_{figures['to']}.csv"
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'})
