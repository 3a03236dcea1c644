"""The fuller statistics (issue #22; kiosk/backoffice/stats.py, docs/statistics.md §1):

* ``GET /api/v1/wards/{ward}/statistics?from=&to=`` — one ward: its supervisors and admins,
  and 本庁 (`central`, or a city-wide admin);
* ``GET /api/v1/wards/{ward}/statistics/{table}.csv`` — one of its tables for Excel;
* ``GET /api/v1/central/statistics?from=&to=`` and ``…/central/statistics/{table}.csv`` —
  本庁: every ward, the same definitions;
* ``GET /api/v1/wards/{ward}/staff-statistics?from=&to=`` (and ``.csv``) — per staff
  member, the ward's supervisors and admins only (not 本庁), over at least a week, only
  members with enough completions by name (stats.staff_figures);
* ``GET /supervisor/statistics?ward=&from=&to=`` — the supervisor's page: charts and tables
  of its ward (the central page shows every ward: central_routes.py).

Office days `from`..`to` both included (today when absent), at most 366.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import stats
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.central import Period
from kiosk.backoffice.clock import office_day, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.deps import PRIVATE
from kiosk.backoffice.engine.errors import Invalid, invalid
from kiosk.backoffice.engine.lookups import ward_of
from kiosk.backoffice.schemas import Out
from kiosk.backoffice.web.central_routes import (
    CENTRAL,
    From,
    To,
    _bo,
    period_of,
    signed_in_staff,
)
from kiosk.backoffice.web.phone import catalog_name, t
from kiosk.backoffice.web.routes import API, NO_STORE, SUPERVISORS_ONLY, forbidden_page, staff_page
from kiosk.backoffice.web.staff_i18n import staff_language
from kiosk.backoffice.web.stats_view import staff_html, summary_table, ward_html
from kiosk.backoffice.web.waits_routes import PLANNERS, SUPERVISOR, WardPath

router = APIRouter(include_in_schema=False)
Table = Literal["summary", "hours", "weeks", "months", "service_times", "counters",
                "life_events", "appointments"]


# --- responses: figures only ---------------------------------------------------------------
class WaitRow(Out):
    ward: str
    issued: int
    called: int
    mean_wait_seconds: int | None
    p50_wait_seconds: int | None
    p90_wait_seconds: int | None
    within_target_share: float | None


class SummaryRow(WaitRow):
    mean_service_seconds: int | None


class HourRow(WaitRow):
    hour: int


class WeekRow(SummaryRow):
    week: str


class MonthRow(SummaryRow):
    month: str


class ServiceTimeRow(Out):
    ward: str
    service: str
    procedure: str | None
    n: int
    mean_seconds: int | None
    p50_seconds: int | None
    p90_seconds: int | None


class CounterRow(Out):
    ward: str
    counter: int
    completed: int
    no_shows: int
    mean_service_seconds: int | None
    open_seconds: int
    busy_seconds: int
    busy_share: float | None


class LifeEventRow(Out):
    ward: str
    life_event: str | None
    visits: int
    completed: int
    mean_time_in_office_seconds: int | None
    p50_time_in_office_seconds: int | None
    p90_time_in_office_seconds: int | None


class AppointmentRow(Out):
    ward: str
    service: str
    booked: int
    checked_in: int
    late: int
    no_shows: int
    no_show_share: float | None
    p50_arrival_vs_slot_seconds: int | None
    called: int
    p50_call_vs_slot_seconds: int | None
    p90_call_vs_slot_seconds: int | None
    called_on_time_share: float | None


class Statistics(Out):
    from_: str = Field(alias="from")
    to: str
    wards: list[str]
    summary: list[SummaryRow]
    hours: list[HourRow]
    weeks: list[WeekRow]
    months: list[MonthRow]
    service_times: list[ServiceTimeRow]
    counters: list[CounterRow]
    life_events: list[LifeEventRow]
    appointments: list[AppointmentRow]


class StaffRow(Out):
    username: str
    completed: int
    days: int
    mean_service_seconds: int | None
    p50_service_seconds: int | None


class StaffPool(Out):
    people: int
    completed: int
    mean_service_seconds: int | None
    p50_service_seconds: int | None


class StaffStatistics(Out):
    from_: str = Field(alias="from")
    to: str
    ward: str
    min_days: int
    min_tickets: int
    staff: list[StaffRow]
    others: StaffPool
    ward_total: StaffPool


# --- computing ------------------------------------------------------------------------------
def staff(bo: Backoffice, period: Period, ward: str) -> dict[str, Any]:
    try:
        return stats.staff_figures(bo.engine, period, ward, bo.tz)
    except stats.TooShort as exc:
        raise invalid("period_too_short", str(exc), min_days=stats.MIN_STAFF_DAYS) from None


def _ward(request: Request, ward: str, who: Principal) -> str:
    code = ward_of(_bo(request), ward).code
    if not who.has_role("central"):
        who.check_ward(code)
    return code


def csv_response(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                 name: str) -> Response:
    """Rows as CSV for Excel: UTF-8 with a BOM, the figures' own keys as the header."""
    out = io.StringIO()
    out.write("\ufeff")  # Excel in Japan reads a CSV as Shift_JIS unless it starts with a BOM
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(columns)
    w.writerows(["" if r.get(c) is None else r.get(c) for c in columns] for r in rows)
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'})


TABLE_MODELS: dict[str, type[Out]] = {
    "summary": SummaryRow, "hours": HourRow, "weeks": WeekRow, "months": MonthRow,
    "service_times": ServiceTimeRow, "counters": CounterRow, "life_events": LifeEventRow,
    "appointments": AppointmentRow}


def table_csv(found: Mapping[str, Any], table: str, scope: str) -> Response:
    columns = ["from", "to", *TABLE_MODELS[table].model_fields]
    rows = [{"from": found["from"], "to": found["to"], **r} for r in found[table]]
    return csv_response(rows, columns, f"{scope}-{table}-{found['from']}_{found['to']}.csv")


CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


# --- API ------------------------------------------------------------------------------------
@router.get(f"{API}/wards/{{ward}}/statistics", response_model=Statistics, dependencies=PRIVATE)
async def ward_statistics(request: Request, ward: WardPath, first: From = None,
                          last: To = None, who: Principal = PLANNERS) -> dict[str, Any]:
    code = _ward(request, ward, who)
    bo = _bo(request)
    return await run_in_threadpool(stats.of_backoffice, bo, period_of(bo, first, last), [code])


@router.get(f"{API}/wards/{{ward}}/statistics/{{table}}.csv", response_class=Response,
            responses=CSV)
async def ward_statistics_csv(request: Request, ward: WardPath, table: Table,
                              first: From = None, last: To = None,
                              who: Principal = PLANNERS) -> Response:
    code = _ward(request, ward, who)
    bo = _bo(request)
    found = await run_in_threadpool(stats.of_backoffice, bo, period_of(bo, first, last), [code])
    return table_csv(found, table, code)


@router.get(f"{API}/central/statistics", response_model=Statistics, dependencies=PRIVATE)
async def central_statistics(request: Request, first: From = None, last: To = None,
                             who: Principal = CENTRAL) -> dict[str, Any]:
    bo = _bo(request)
    return await run_in_threadpool(stats.of_backoffice, bo, period_of(bo, first, last),
                                    bo.catalog.wards)


@router.get(f"{API}/central/statistics/{{table}}.csv", response_class=Response,
            responses=CSV)
async def central_statistics_csv(request: Request, table: Table, first: From = None,
                                 last: To = None, who: Principal = CENTRAL) -> Response:
    bo = _bo(request)
    found = await run_in_threadpool(stats.of_backoffice, bo, period_of(bo, first, last),
                                    bo.catalog.wards)
    return table_csv(found, table, "central")


@router.get(f"{API}/wards/{{ward}}/staff-statistics", response_model=StaffStatistics,
            dependencies=PRIVATE)
async def staff_statistics(request: Request, ward: WardPath, first: From = None,
                           last: To = None, who: Principal = SUPERVISOR) -> dict[str, Any]:
    bo = _bo(request)
    code = ward_of(bo, ward).code
    who.check_ward(code)
    return await run_in_threadpool(staff, bo, period_of(bo, first, last), code)


@router.get(f"{API}/wards/{{ward}}/staff-statistics.csv", response_class=Response,
            responses=CSV)
async def staff_statistics_csv(request: Request, ward: WardPath, first: From = None,
                               last: To = None, who: Principal = SUPERVISOR) -> Response:
    bo = _bo(request)
    code = ward_of(bo, ward).code
    who.check_ward(code)
    found = await run_in_threadpool(staff, bo, period_of(bo, first, last), code)
    rows = [*found["staff"], {"username": "*others*", "days": None, **found["others"]},
            {"username": "*ward*", "days": None, **found["ward_total"]}]
    return csv_response(rows, ["username", "people", "completed", "days",
                               "mean_service_seconds", "p50_service_seconds"],
                        f"{code}-staff-{found['from']}_{found['to']}.csv")


# --- the supervisor's page ------------------------------------------------------------------
DEFAULT_DAYS = 28  # the supervisor page opens on the last four weeks


@router.get("/supervisor/statistics", response_class=HTMLResponse)
async def statistics_page(request: Request, ward: str | None = Query(None, max_length=32),
                          first: str | None = Query(None, alias="from"),
                          last: str | None = Query(None, alias="to")) -> Response:
    who = await signed_in_staff(request, "/supervisor/statistics")
    if isinstance(who, Response):
        return who
    if who.role == "central":
        return RedirectResponse("/central", status_code=303, headers=NO_STORE)
    if not who.has_role("supervisor"):
        return forbidden_page(request, SUPERVISORS_ONLY)
    bo = _bo(request)
    lang = staff_language(request)
    tr = t(lang)
    code = who.ward or (ward if ward and ward in bo.catalog.wards
                        else next(iter(bo.catalog.wards)))
    error = ""
    today = office_day(utcnow(), bo.tz)
    try:
        period = period_of(bo, first or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
                           last or today.isoformat())
    except Invalid:
        error = tr("期間を正しく指定してください(開始日 ≤ 終了日、最長 366 日)。")
        period = Period(today - timedelta(days=DEFAULT_DAYS - 1), today)
    found = await run_in_threadpool(stats.of_backoffice, bo, period, [code])
    try:
        staff_part = staff_html(await run_in_threadpool(staff, bo, period, code), lang)
    except Invalid:
        staff_part = staff_html(None, lang, tr("期間が7日未満のため、職員ごとの数値は示しません。"))
    query = f"from={period.first.isoformat()}&to={period.last.isoformat()}"
    ward_options = "".join(
        f'<option value="{c}"{" selected" if c == code else ""}>'
        f"{html.escape(catalog_name(w.name, lang))}</option>"
        for c, w in bo.catalog.wards.items() if who.may_see_ward(c))
    return staff_page(
        request, "statistics.html", title="統計(詳細)", scripts=(), config={"api": API},
        first=period.first.isoformat(), last=period.last.isoformat(), period_error=error,
        ward_options_html=ward_options,
        stats_html=ward_html(found, code, bo.catalog, lang,
                             f"{API}/wards/{code}/statistics/{{table}}.csv?{query}"),
        staff_html=staff_part,
        staff_csv_url=f"{API}/wards/{code}/staff-statistics.csv?{query}",
        summary_html=summary_table(found, bo.catalog, lang))
