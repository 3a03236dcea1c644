"""The central office's (本庁) view across wards: page /central and its API.

* ``GET /api/v1/central/now`` — per ward and service: waiting, longest wait, counters open;
* ``GET /api/v1/central/period?from=YYYY-MM-DD&to=YYYY-MM-DD`` — per ward, service and
  procedure: issued, served, no-shows, mean / 90th-percentile wait, share within target;
* ``GET /api/v1/central/period.csv?from=…&to=…`` — the same figures for Excel (UTF-8 with
  a BOM, headers in the staff member's language);
* ``GET /central`` — the page: both, with a bar chart drawn on the server (inline SVG).

Role `central` (or admin): every ward, numbers only — no ticket, no application, no
personal data, and no counter action (kiosk.backoffice.auth).
"""

from __future__ import annotations

import csv
import html
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import central, stats
from kiosk.backoffice.auth import COOKIE, Principal, logout, optional_principal, require_staff
from kiosk.backoffice.central_visits import visit_figures
from kiosk.backoffice.clock import iso, office_day, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.deps import PRIVATE
from kiosk.backoffice.engine.errors import Invalid, invalid
from kiosk.backoffice.schemas import Out
from kiosk.backoffice.web.assets import fragment
from kiosk.backoffice.web.central_view import chart_svg, csv_rows, period_tables_html
from kiosk.backoffice.web.phone import catalog_name, t
from kiosk.backoffice.web.routes import API, NO_STORE, forbidden_page, staff_page
from kiosk.backoffice.web.staff_i18n import staff_language
from kiosk.backoffice.web.stats_view import csv_links, summary_table, ward_html
from kiosk.i18n import Translator

router = APIRouter(include_in_schema=False)
TITLE = "本庁 — 区役所ごとの待ち状況とサービス水準"
CENTRAL_ONLY = "このページは本庁(central)または管理者の役割の職員だけが開けます。"
CENTRAL = Depends(require_staff("central"))
From = Annotated[str | None, Query(alias="from", max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]
To = Annotated[str | None, Query(alias="to", max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]


# --- responses: figures and names only, nothing about a ticket or a person ------------------

class Names(Out):
    """Ward, service and procedure names in the staff member's language."""
    wards: dict[str, str]
    services: dict[str, str]
    procedures: dict[str, str]


class NowService(Out):
    service: str
    waiting: int
    longest_wait_seconds: int | None
    target_wait_seconds: int
    counters_open: int


class NowWard(Out):
    ward: str
    waiting: int
    longest_wait_seconds: int | None
    at_counters: int
    counters_open: int
    counters: int
    services: list[NowService]


class CentralNow(Out):
    generated_at: str | None
    wards: list[NowWard]
    names: Names


class Figures(Out):
    issued: int
    served: int
    no_shows: int
    cancelled: int
    called: int
    mean_wait_seconds: int | None
    p90_wait_seconds: int | None
    within_target: int
    within_target_share: float | None


class PeriodService(Figures):
    service: str
    target_wait_seconds: int | None


class PeriodProcedure(Figures):
    procedure: str | None


class VisitService(Out):
    service: str
    stages: int
    mean_stage_wait_seconds: int | None
    mean_stage_service_seconds: int | None
    visits: int
    mean_time_in_office_seconds: int | None


class VisitFigures(Out):
    """Routed visits (central_visits.py): per-stage waits and time in office."""
    visits: int
    completed: int
    mean_time_in_office_seconds: int | None
    max_time_in_office_seconds: int | None
    services: list[VisitService]


class PeriodWard(Figures):
    ward: str
    services: list[PeriodService]
    procedures: list[PeriodProcedure]
    visits: VisitFigures | None = None


class CentralPeriod(Out):
    from_: str = Field(alias="from")
    to: str
    wards: list[PeriodWard]
    names: Names


def _bo(request: Request) -> Backoffice:
    bo: Backoffice = request.app.state.backoffice
    return bo


def period_of(bo: Backoffice, first: str | None, last: str | None) -> central.Period:
    """?from=&to= (office days, both included); today when absent; 422 when impossible."""
    today = office_day(utcnow(), bo.tz)
    try:
        start = date.fromisoformat(first) if first else None
        end = date.fromisoformat(last) if last else None
        return central.Period(start or end or today, end or start or today)
    except ValueError as exc:
        raise invalid("bad_period", str(exc)) from None


def _names(bo: Backoffice, lang: str) -> dict[str, dict[str, str]]:
    cat = bo.catalog
    return {"wards": {c: catalog_name(w.name, lang) for c, w in cat.wards.items()},
            "services": {c: catalog_name(s.name, lang) for c, s in cat.services.items()},
            "procedures": {c: catalog_name(p.name, lang) for c, p in cat.procedures.items()}}


async def _period_figures(request: Request, first: str | None,
                          last: str | None) -> tuple[central.Period, dict[str, Any]]:
    bo = _bo(request)
    period = period_of(bo, first, last)
    figures = await run_in_threadpool(central.period_figures, bo.engine, bo.catalog, period)
    visits = await run_in_threadpool(visit_figures, bo.engine, period,
                                     [w["ward"] for w in figures["wards"]])
    for w in figures["wards"]:
        w["visits"] = visits.get(w["ward"])
    return period, figures


@router.get(f"{API}/central/now", response_model=CentralNow, dependencies=PRIVATE)
async def central_now(request: Request, who: Principal = CENTRAL) -> dict[str, Any]:
    bo = _bo(request)
    wards = await run_in_threadpool(central.now_figures, bo.engine, bo.catalog, utcnow())
    return {"generated_at": iso(utcnow(), bo.tz), "wards": wards,
            "names": _names(bo, staff_language(request))}


@router.get(f"{API}/central/period", response_model=CentralPeriod, dependencies=PRIVATE)
async def central_period(request: Request, first: From = None, last: To = None,
                         who: Principal = CENTRAL) -> dict[str, Any]:
    _, figures = await _period_figures(request, first, last)
    return {**figures, "names": _names(_bo(request), staff_language(request))}


@router.get(f"{API}/central/period.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
async def central_period_csv(request: Request, first: From = None, last: To = None,
                             who: Principal = CENTRAL) -> Response:
    period, figures = await _period_figures(request, first, last)
    out = io.StringIO()
    # Excel in Japan reads a CSV as Shift_JIS unless it starts with a BOM.
    out.write("\ufeff")
    csv.writer(out, lineterminator="\r\n").writerows(
        csv_rows(figures, _bo(request).catalog, staff_language(request)))
    name = f"central-{period.first.isoformat()}_{period.last.isoformat()}.csv"
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'})


async def signed_in_staff(request: Request, path: str) -> Principal | Response:
    """A staff page's signed-in staff member, else the redirect to the console's sign-in."""
    who = await run_in_threadpool(optional_principal, request)
    if who is None or who.kind != "staff":
        return RedirectResponse(f"/console?next={path}", status_code=303, headers=NO_STORE)
    return who


@router.get("/central", response_class=HTMLResponse)
async def central_page(request: Request, first: str | None = Query(None, alias="from"),
                       last: str | None = Query(None, alias="to")) -> Response:
    who = await signed_in_staff(request, "/central")
    if isinstance(who, Response):
        return who
    if not who.has_role("central"):
        return forbidden_page(request, CENTRAL_ONLY)
    bo = _bo(request)
    lang = staff_language(request)
    tr = t(lang)
    error = ""
    try:
        period, figures = await _period_figures(request, first, last)
    except Invalid:  # an impossible period: say so, and show today's
        error = tr("期間を正しく指定してください(開始日 ≤ 終了日、最長 366 日)。")
        period, figures = await _period_figures(request, None, None)
    query = f"from={period.first.isoformat()}&to={period.last.isoformat()}"
    found = await run_in_threadpool(stats.of_backoffice, bo, period, bo.catalog.wards)
    return staff_page(
        request, "central.html", title=TITLE,
        scripts=("live.js", "central.js", "central_waits.js", "what_if.js"),
        what_if_html=fragment("what_if.html", tr, ward_choice_html=_ward_choice(bo, tr)),
        config={"api": API}, username=who.username or "", period_error=error,
        first=period.first.isoformat(), last=period.last.isoformat(),
        csv_url=f"{API}/central/period.csv?{query}",
        chart_html=chart_svg(figures, bo.catalog, lang),
        period_tables_html=period_tables_html(figures, bo.catalog, lang),
        stats_summary_html=summary_table(found, bo.catalog, lang) + csv_links(
            f"{API}/central/statistics/{{table}}.csv?{query}", tr),
        stats_html="".join(ward_html(found, code, bo.catalog, lang,
                                     f"{API}/wards/{code}/statistics/{{table}}.csv?{query}")
                           for code in found["wards"]))


@router.post("/web/central/logout", response_class=RedirectResponse,
             responses={303: {"description": "signed out: to the console's sign-in"}})
async def central_logout(request: Request) -> Response:
    """Sign out from the central page (the API's /auth/logout is for counter staff)."""
    token = request.cookies.get(COOKIE)
    if token:
        await run_in_threadpool(logout, _bo(request), token)
    out = RedirectResponse("/console", status_code=303, headers=NO_STORE)
    out.delete_cookie(COOKIE, path="/")
    return out


def _ward_choice(bo: Backoffice, tr: Translator) -> str:
    """The what-if's ward choice on the central page (every ward of the city)."""
    options = "".join(f'<option value="{html.escape(code)}">'
                      f"{html.escape(catalog_name(w.name, tr.code))}</option>"
                      for code, w in bo.catalog.wards.items())
    return (f'<label for="wif-ward">{html.escape(tr("区役所"))}</label> '
            f'<select id="wif-ward">{options}</select>')
