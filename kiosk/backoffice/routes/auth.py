"""Staff sign-in and sign-out, and who the caller is (/api/v1/auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from kiosk.backoffice import schemas as S
from kiosk.backoffice.auth import COOKIE, Principal, login, logout
from kiosk.backoffice.clock import iso
from kiosk.backoffice.deps import STAFF, STAFF_OR_DEVICE, Strict, bo_of

router = APIRouter()


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@router.post("/auth/login", tags=["auth"], response_model=S.SignedIn,
             summary="Staff sign-in (public, rate-limited)")
def auth_login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    bo = bo_of(request)
    address = request.client.host if request.client else "unknown"
    result = login(bo, body.username, body.password, address)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="strict", path="/",
                        secure=bo.settings.security.cookie_secure,
                        max_age=bo.settings.security.session_hours * 3600)
    p = result.principal
    return {"token": result.token, "username": p.username, "role": p.role, "ward": p.ward,
            "expires_at": iso(result.expires_at, bo.tz)}  # type: ignore[arg-type]


@router.post("/auth/logout", tags=["auth"], status_code=204, summary="Sign out (staff)")
def auth_logout(request: Request, who: Principal = STAFF) -> Response:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.cookies.get(COOKIE)
    if token:
        logout(bo_of(request), token)
    out = Response(status_code=204)
    out.delete_cookie(COOKIE, path="/")
    return out


@router.get("/auth/me", tags=["auth"], response_model=S.Me,
            response_model_exclude_unset=True, summary="Who am I (staff or device)")
def auth_me(who: Principal = STAFF_OR_DEVICE) -> dict[str, object]:
    return who.public()
