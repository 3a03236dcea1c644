"""Appointments (予約, issue #19): what a resident's phone asks without an account — the
offer, days, slots, a held place, the booking, cancel and move (public, rate-limited,
no-store: the code is the booking's key and goes in the body, never in a URL) — the
kiosk's check-in by code, and a ward's day of bookings for its staff."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import schemas_home as H
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.deps import (
    KIOSK,
    NO_STORE,
    PRIVATE,
    STAFF,
    Code,
    Strict,
    WardPath,
    base,
    bo_of,
)
from kiosk.backoffice.engine import appointments as appt
from kiosk.backoffice.ratelimit import PUBLIC, client_address
from kiosk.backoffice.routes.visits import VisitIn, visit_fields
from kiosk.i18n import LANGUAGE_CODES

router = APIRouter(tags=["appointments"])
P = "/public/appointments"
PUBLIC_PRIVATE = [PUBLIC, *PRIVATE]
BookingCode = Annotated[str, Field(min_length=4, max_length=32)]
Day = Annotated[date, Query()]


class HoldIn(Strict):
    ward: Code
    service: Code
    slot: str = Field(min_length=16, max_length=25, description="YYYY-MM-DDTHH:MM (local)")
    procedure: Code | None = None
    life_event: Code | None = None
    language: str = Field(default="ja", pattern="^(" + "|".join(LANGUAGE_CODES) + ")$")


class CodeIn(Strict):
    code: BookingCode


class ConfirmIn(CodeIn):
    contact: str = Field(min_length=6, max_length=254,
                         description="an e-mail address or phone number (kept only as a hash)")


class CheckInIn(VisitIn):
    """A booking's code at its ward's kiosk; for a life-event booking, the kiosk that
    fills the event's forms first says so (`forms_first`), then sends them (the routed
    visit's fields, as POST /tickets) with the same code."""
    code: BookingCode
    forms_first: bool = False


class MoveIn(CodeIn):
    slot: str = Field(min_length=16, max_length=25)


@router.get(f"{P}/{{ward}}", response_model=H.AppointmentOffer, dependencies=[PUBLIC],
            summary="The ward's services that take appointments (public)")
def get_offer(ward: WardPath, request: Request) -> dict[str, Any]:
    return appt.offer(bo_of(request), ward)


@router.get(f"{P}/{{ward}}/{{service}}/days", response_model=H.BookableDays,
            dependencies=[PUBLIC], summary="Bookable days ahead and places left (public)")
def get_days(ward: WardPath, service: WardPath, request: Request) -> dict[str, Any]:
    return appt.days(bo_of(request), ward, service)


@router.get(f"{P}/{{ward}}/{{service}}/slots", response_model=H.DaySlots,
            dependencies=[PUBLIC], summary="A day's slots and places left (public)")
def get_slots(ward: WardPath, service: WardPath, day: Day, request: Request) -> dict[str, Any]:
    return appt.slots(bo_of(request), ward, service, day)


@router.post(f"{P}/holds", response_model=H.Appointment, status_code=201,
             dependencies=PUBLIC_PRIVATE,
             summary="Hold a slot while the resident confirms (public, limited per address)")
def post_hold(body: HoldIn, request: Request) -> dict[str, Any]:
    return appt.hold(bo_of(request), body.ward, body.service, body.slot,
                     address=client_address(request), language=body.language,
                     procedure=body.procedure, life_event=body.life_event)


@router.post(f"{P}/confirm", response_model=H.Appointment, dependencies=PUBLIC_PRIVATE,
             summary="Book the held slot (public, limited per contact)")
def post_confirm(body: ConfirmIn, request: Request) -> dict[str, Any]:
    return appt.confirm(bo_of(request), body.code, body.contact)


@router.post(f"{P}/find", response_model=H.Appointment, dependencies=PUBLIC_PRIVATE,
             summary="A booking by its code (public)")
def post_find(body: CodeIn, request: Request) -> dict[str, Any]:
    bo = bo_of(request)
    return appt.view(bo, appt.find(bo, body.code))


@router.post(f"{P}/cancel", response_model=H.Appointment, dependencies=PUBLIC_PRIVATE,
             summary="Cancel a booking by its code (public)")
def post_cancel(body: CodeIn, request: Request) -> dict[str, Any]:
    return appt.cancel(bo_of(request), body.code)


@router.post(f"{P}/move", response_model=H.Appointment, dependencies=PUBLIC_PRIVATE,
             summary="Move a booking to another slot by its code (public)")
def post_move(body: MoveIn, request: Request) -> dict[str, Any]:
    return appt.move(bo_of(request), body.code, body.slot)


@router.post("/appointments/check-in", response_model=H.CheckIn,
             summary="Check a booking in at the kiosk of its ward: its queue ticket (kiosk)")
async def post_check_in(body: CheckInIn, request: Request,
                        who: Principal = KIOSK) -> JSONResponse:
    visit = visit_fields(body) if body.route is not None else None
    answer = await run_in_threadpool(appt.check_in, bo_of(request), who, body.code,
                                     base(request), visit=visit,
                                     forms_first=body.forms_first)
    return JSONResponse(H.CheckIn.model_validate(answer).model_dump(mode="json"),
                        headers=NO_STORE)


@router.get("/wards/{ward}/appointments", response_model=H.DayAppointments,
            dependencies=PRIVATE, summary="A ward's bookings of one day (staff)")
def get_day_list(ward: WardPath, day: Day, request: Request,
                 who: Principal = STAFF) -> dict[str, Any]:
    return appt.day_list(bo_of(request), who, ward, day)

