"""A ward by hand (open/closed), its queue, its wait estimates; every ward's waits."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from kiosk.backoffice import audience
from kiosk.backoffice import schemas as S
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.deps import STAFF_OR_DEVICE, SUPERVISOR, Strict, WardPath, bo_of
from kiosk.backoffice.engine import actions, views
from kiosk.backoffice.ratelimit import PUBLIC

router = APIRouter()


class WardStateIn(Strict):
    state: Literal["open", "closed", "auto"]


@router.put("/wards/{ward}/state", tags=["wards"], response_model=S.WardState,
            summary="Open/close a ward by hand (supervisor)")
def put_ward_state(ward: WardPath, body: WardStateIn, request: Request,
                   who: Principal = SUPERVISOR) -> dict[str, Any]:
    return actions.set_ward_state(bo_of(request), who, ward, body.state)



@router.get("/wards/{ward}/queue", tags=["wards"], response_model=S.QueueView,
            response_model_exclude_unset=True,
            summary="Waiting lists and counters (staff, display, kiosk)")
def get_queue(ward: WardPath, request: Request, who: Principal = STAFF_OR_DEVICE) -> dict[str, Any]:
    who.check_ward(ward)
    # A display or kiosk gets what its stream's snapshot has: numbers, counters, counts.
    return audience.queue_view_for(audience.of(who), views.queue_view(bo_of(request), ward))


@router.get("/wards/{ward}/estimates", tags=["wards"], response_model=S.Estimates,
            dependencies=[PUBLIC],
            summary="Wait estimates (public)")
def get_estimates(ward: WardPath, request: Request) -> dict[str, Any]:
    return views.estimates_view(bo_of(request), ward)


@router.get("/overview", tags=["wards"], response_model=list[S.Estimates],
            summary="Every ward's waits (supervisor)")
def get_overview(request: Request, who: Principal = SUPERVISOR) -> list[dict[str, Any]]:
    bo = bo_of(request)
    return [views.estimates_view(bo, code) for code in bo.catalog.wards
            if who.may_see_ward(code)]
