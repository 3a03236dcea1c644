"""Administration API (/api/v1/admin): staff accounts and device tokens.

A city-wide admin (no ward) manages every account and device. A ward's admin manages only
staff and supervisors of its own ward and that ward's devices: never an admin, central or
city-wide account. Creating never overwrites (409 on a taken name); a password reset, a
disable and a token rotation are their own actions, written to `account_events`, and end
the account's sessions or the device's old token at once in this process (other processes
within `[security] token_cache_seconds`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import models as m
from kiosk.backoffice import seed
from kiosk.backoffice.auth import Principal, require_staff, session_key
from kiosk.backoffice.clock import iso
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading
from kiosk.backoffice.engine import lookups
from kiosk.backoffice.engine.errors import conflict, forbidden, not_found
from kiosk.backoffice.schemas import Out

router = APIRouter(prefix="/admin", tags=["admin"])

ADMIN = Depends(require_staff("admin"))
# Roles only a city-wide admin may give or touch: they reach beyond one ward.
CITY_ROLES = ("admin", "central")
Username = Annotated[str, Path(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
DeviceId = Annotated[int, Path(ge=1, le=2**31)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- responses (only these keys leave; a password or token only where listed) ---------------

class StaffOut(Out):
    username: str
    role: str
    ward: str | None
    active: bool


class StaffMade(StaffOut):
    password: str | None = None  # only when the server generated it (shown once)


class PasswordReset(Out):
    username: str
    sessions_ended: int
    password: str | None = None  # only when the server generated it (shown once)


class StaffActive(Out):
    username: str
    active: bool
    sessions_ended: int


class DeviceToken(Out):
    """A device and its new token (shown once)."""
    id: int
    name: str
    kind: str
    ward: str
    token: str


class AccountEvent(Out):
    id: int
    at: str | None
    action: str
    actor: str | None
    target_kind: str
    target: str
    ward: str | None


def _bo(request: Request) -> Backoffice:
    bo: Backoffice = request.app.state.backoffice
    return bo


def _actor(request: Request, who: Principal) -> seed.Actor:
    return seed.Actor(who.username, request.client.host if request.client else None)


def check_manages(who: Principal, role: str, ward: str | None) -> None:
    """403 unless `who` may create or change an account of `role` in `ward`."""
    if who.ward is None:
        return
    if role in CITY_ROLES or ward is None:
        raise forbidden("only a city-wide admin may create or change admin, central or "
                        "city-wide accounts")
    who.check_ward(ward)


def _staff_check(who: Principal) -> Callable[[Any], None]:
    return lambda row: check_manages(who, row.role, row.ward)


def _device_check(who: Principal) -> Callable[[Any], None]:
    return lambda row: who.check_ward(row.ward)


def _forget(bo: Backoffice, keys: list[str]) -> None:
    for key in keys:
        bo.tokens.drop(key)


async def _run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run an account change; its refusals become API errors."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except seed.AlreadyExists as exc:
        raise conflict("already_exists", f"{exc}; creating never overwrites (reset the "
                       "password or rotate the token instead)") from None
    except seed.NoSuchAccount as exc:
        raise not_found(str(exc)) from None


# --- staff ----------------------------------------------------------------------------

class StaffIn(Strict):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Literal["staff", "supervisor", "admin", "central"]
    ward: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")
    password: str | None = Field(None, min_length=12, max_length=256)


class PasswordIn(Strict):
    password: str | None = Field(None, min_length=12, max_length=256)


def _staff_out(row: Any) -> dict[str, Any]:
    return {"username": row.username, "role": row.role, "ward": row.ward,
            "active": row.active}


@router.post("/staff", status_code=201, response_model=StaffMade,
             response_model_exclude_unset=True,
             summary="Create a staff account (admin; a ward's admin: staff and supervisors "
                     "of its ward); 409 when the username exists")
async def post_staff(body: StaffIn, request: Request, who: Principal = ADMIN) -> dict[str, Any]:
    bo = _bo(request)
    if body.ward is not None:
        lookups.ward_of(bo, body.ward)
    check_manages(who, body.role, body.ward)
    password = await _run(seed.create_staff, bo.engine, body.username, body.role, body.ward,
                          body.password, _actor(request, who))
    out: dict[str, Any] = {"username": body.username, "role": body.role, "ward": body.ward,
                           "active": True}
    if body.password is None:
        out["password"] = password
    return out


@router.get("/staff", response_model=list[StaffOut],
            summary="Staff accounts (admin; a ward's admin sees its ward's)")
def get_staff(request: Request, who: Principal = ADMIN) -> list[dict[str, Any]]:
    s = m.staff
    query = select(s.c.username, s.c.role, s.c.ward, s.c.active).order_by(s.c.username)
    if who.ward is not None:
        query = query.where(s.c.ward == who.ward)
    with reading(_bo(request).engine) as conn:
        return [_staff_out(r) for r in conn.execute(query)]


@router.post("/staff/{username}/reset-password", response_model=PasswordReset,
             response_model_exclude_unset=True,
             summary="Set or generate a new password; the account's sessions end (admin)")
async def post_reset_password(username: Username, request: Request,
                              body: PasswordIn | None = None,
                              who: Principal = ADMIN) -> dict[str, Any]:
    bo = _bo(request)
    given = body.password if body else None
    # One's own reset ends one's other sessions, not the one doing it (ASVS 3.3.3).
    keep = session_key(request) if username == who.username else None
    password, ended = await _run(seed.reset_password, bo.engine, username, given,
                                 _actor(request, who), _staff_check(who), keep)
    _forget(bo, ended)
    out: dict[str, Any] = {"username": username, "sessions_ended": len(ended)}
    if given is None:
        out["password"] = password
    return out


async def _set_active(request: Request, who: Principal, username: str,
                      active: bool) -> dict[str, Any]:
    bo = _bo(request)
    if not active and username == who.username:
        raise conflict("own_account", "an admin cannot disable its own account")
    ended = await _run(seed.set_staff_active, bo.engine, username, active,
                       _actor(request, who), _staff_check(who))
    _forget(bo, ended)
    return {"username": username, "active": active, "sessions_ended": len(ended)}


@router.post("/staff/{username}/disable", response_model=StaffActive,
             summary="Disable an account: it cannot sign in, its sessions end (admin)")
async def post_disable(username: Username, request: Request,
                       who: Principal = ADMIN) -> dict[str, Any]:
    return await _set_active(request, who, username, False)


@router.post("/staff/{username}/enable", response_model=StaffActive,
             summary="Enable a disabled account again (admin)")
async def post_enable(username: Username, request: Request,
                      who: Principal = ADMIN) -> dict[str, Any]:
    return await _set_active(request, who, username, True)


# --- devices --------------------------------------------------------------------------

class DeviceIn(Strict):
    name: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["kiosk", "display", "terminal"]  # terminal: a payment terminal
    ward: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")


@router.post("/devices", status_code=201, response_model=DeviceToken,
             summary="Provision a device token (admin of its ward; shown once); 409 when "
                     "the name exists")
async def post_device(body: DeviceIn, request: Request, who: Principal = ADMIN) -> dict[str, Any]:
    bo = _bo(request)
    lookups.ward_of(bo, body.ward)
    who.check_ward(body.ward)
    device_id, token = await _run(seed.create_device, bo.engine, body.name, body.kind,
                                  body.ward, _actor(request, who))
    return {"id": device_id, "name": body.name, "kind": body.kind, "ward": body.ward,
            "token": token}


@router.post("/devices/{device_id}/rotate-token", response_model=DeviceToken,
             summary="A new token for a device; the old one stops working (admin of its ward)")
async def post_rotate_token(device_id: DeviceId, request: Request,
                            who: Principal = ADMIN) -> dict[str, Any]:
    bo = _bo(request)
    row, token, old_key = await _run(seed.rotate_device_token, bo.engine, device_id,
                                     _actor(request, who), _device_check(who))
    _forget(bo, [old_key])
    return {"id": row.id, "name": row.name, "kind": row.kind, "ward": row.ward,
            "token": token}


@router.delete("/devices/{device_id}", status_code=204,
               summary="Revoke a device token (admin of its ward)")
async def delete_device(device_id: DeviceId, request: Request,
                        who: Principal = ADMIN) -> Response:
    bo = _bo(request)
    key = await _run(seed.revoke_device, bo.engine, device_id, _actor(request, who),
                     _device_check(who))
    _forget(bo, [key])
    return Response(status_code=204)


# --- audit trail ------------------------------------------------------------------------

@router.get("/account-events", response_model=list[AccountEvent],
            summary="Who created, reset, disabled or re-keyed what (admin; a ward's admin: "
                    "its ward)")
def get_account_events(request: Request, who: Principal = ADMIN,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                       ) -> list[dict[str, Any]]:
    bo = _bo(request)
    e = m.account_events
    query = select(e).order_by(e.c.id.desc()).limit(limit)
    if who.ward is not None:
        query = query.where(e.c.ward == who.ward)
    with reading(bo.engine) as conn:
        rows = conn.execute(query).all()
    return [{"id": r.id, "at": iso(r.at, bo.tz), "action": r.action, "actor": r.actor,
             "target_kind": r.target_kind, "target": r.target, "ward": r.ward}
            for r in rows]

