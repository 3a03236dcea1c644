"""The admin page (/admin): staff accounts and devices of the admin's ward (every ward for
a city-wide admin) through the administration API (/api/v1/admin, routes/admin.py) — the
same rules, validation and audit trail as the command line; the page only shows them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.backoffice.web.routes import supervisor_page_of

router = APIRouter(include_in_schema=False)
ADMINS_ONLY = "このページは管理者(admin)の役割の職員だけが開けます。"


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request) -> Response:
    return await supervisor_page_of(request, "admin.html", "管理", "admin.js", role="admin",
                                    refusal=ADMINS_ONLY)


@router.get("/admin/catalog", response_class=HTMLResponse)
async def catalog_page(request: Request) -> Response:
    """Counters, opening hours and closed days of a ward; for a city-wide admin services
    (added, targets, removed), procedures (added, fees, descriptions, exemptions, form
    fields, removed) and life events (questions, items and their conditions); rolling
    back to a version (routes/catalog_admin.py does the work)."""
    return await supervisor_page_of(request, "catalog.html", "窓口・手続きの設定", "catalog.js",
                                    extra=("catalog_edit.js", "catalog_events.js"),
                                    role="admin", refusal=ADMINS_ONLY)
