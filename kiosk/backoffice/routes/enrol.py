"""Device enrolment: an admin makes a one-time code for a device, the device trades it for
its token (kiosk.backoffice.enrolment)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import enrolment, seed
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.clock import iso
from kiosk.backoffice.deps import ADMIN, Strict, bo_of
from kiosk.backoffice.errors import ApiError
from kiosk.backoffice.routes.admin import DeviceToken, _actor, _device_check, _forget, _run
from kiosk.backoffice.schemas import Out

router = APIRouter()


class EnrolmentCode(Out):
    """A device's one-time code (shown once): it goes into the provisioning file."""
    device: str
    code: str
    expires_at: str | None


class EnrolIn(Strict):
    code: str = Field(min_length=10, max_length=64, pattern=r"^en_[A-Za-z0-9_-]+$")


@router.post("/admin/devices/{device_id}/enrolment-code", tags=["admin"], status_code=201,
             response_model=EnrolmentCode,
             summary="A one-time enrolment code for a device's provisioning file (admin of "
                     "its ward; [devices] enrolment_hours)")
async def post_enrolment_code(device_id: Annotated[int, Path(ge=1, le=2**31)],
                              request: Request, who: Principal = ADMIN) -> dict[str, Any]:
    bo = bo_of(request)
    name, code, expires = await _run(enrolment.issue, bo.engine, device_id,
                                     bo.settings.devices.enrolment_hours,
                                     _actor(request, who), _device_check(who))
    return {"device": name, "code": code, "expires_at": iso(expires, bo.tz)}


@router.post("/device/enrol", tags=["devices"], response_model=DeviceToken,
             summary="Trade a one-time enrolment code for the device's token (no sign-in: "
                     "the code is the credential; 403 when unknown, spent or expired)")
async def post_enrol(body: EnrolIn, request: Request) -> dict[str, Any]:
    bo = bo_of(request)
    address = request.client.host if request.client else None
    try:
        row, token, old_key = await run_in_threadpool(enrolment.redeem, bo.engine, body.code,
                                                      address)
    except enrolment.CodeRefused:
        raise ApiError(403, "enrolment_refused", "this enrolment code is unknown, already "
                       "used or expired: ask the administrator for a new one") from None
    except seed.NoSuchAccount:
        raise ApiError(403, "enrolment_refused", "the device of this code is gone") from None
    _forget(bo, [old_key])
    r: Any = row
    return {"id": r.id, "name": r.name, "kind": r.kind, "ward": r.ward, "token": token}
