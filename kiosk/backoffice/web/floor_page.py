"""The floor view (/floor) for the floor staff (案内係): open "ask staff" requests of the
ward's kiosks, live with a chime; a staff member takes one and the others see who.
The data comes from /api/v1/wards/{ward}/floor/… (kiosk.backoffice.routes.floor)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kiosk.backoffice.web import internal
from kiosk.backoffice.web.routes import API, NO_STORE, ROLE_RANK, forbidden_page, staff_page

router = APIRouter(include_in_schema=False)


@router.get("/floor")
async def floor_page(request: Request, ward: str = "") -> Response:
    me = await internal.get(request, f"{API}/auth/me")
    who = me.json() if me.status == 200 else None
    if not who or who.get("kind") != "staff":
        return RedirectResponse("/console?next=/floor", status_code=303, headers=NO_STORE)
    if str(who.get("role")) not in ROLE_RANK:   # 本庁 (central) has no floor
        return forbidden_page(request, "このページは区役所の職員だけが開けます。")
    # a ward's staff see their ward; a city-wide admin names one (?ward=)
    config = {"api": API, "username": who.get("username"),
              "ward": who.get("ward") or ward or "kita"}
    return staff_page(request, "floor.html", title="フロア案内",
                      scripts=("live.js", "floor.js"), config=config)
