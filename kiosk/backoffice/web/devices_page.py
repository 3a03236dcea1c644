"""The supervisor's device page (/supervisor/devices): every kiosk, display and terminal
of the ward with its state, live from GET /api/v1/devices/health/stream, with an alarm
(a banner and the chime) when a device reports trouble or falls silent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.backoffice.web.routes import supervisor_page_of

router = APIRouter(include_in_schema=False)


@router.get("/supervisor/devices", response_class=HTMLResponse)
async def devices_page(request: Request) -> Response:
    return await supervisor_page_of(request, "devices.html", "機器の状態", "devices.js")
