"""The supervisor's device page (/supervisor/devices): every kiosk, display and terminal
of the ward with its state, live from GET /api/v1/devices/health/stream, with an alarm
(a banner and the chime) when a device reports trouble or falls silent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.backoffice.web.routes import API, staff_page, supervisor_or_away

router = APIRouter(include_in_schema=False)


@router.get("/supervisor/devices", response_class=HTMLResponse)
async def devices_page(request: Request) -> Response:
    who = await supervisor_or_away(request)
    if isinstance(who, Response):
        return who
    config = {"api": API, "username": who.get("username"), "ward": who.get("ward")}
    return staff_page(request, "devices.html", title="機器の状態",
                      scripts=("live.js", "devices.js"), config=config)
