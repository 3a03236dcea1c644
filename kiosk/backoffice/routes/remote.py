"""A place in today's queue from home (issue #19): what a phone may take and the place
itself (public, rate-limited, no-store: the code is the place's key and goes in the body,
never in a URL), and the kiosk's check-in by code — the same body and answer shape as the
appointments' check-in (`{code}` → `{remote, late, ticket}`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import schemas_home as H
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.deps import KIOSK, NO_STORE, Code, Strict, WardPath, base, bo_of
from kiosk.backoffice.engine import remote
from kiosk.backoffice.ratelimit import client_address
from kiosk.backoffice.routes.appointments import PUBLIC_PRIVATE, CodeIn
from kiosk.i18n import LANGUAGE_CODES

router = APIRouter(tags=["remote"])
P = "/public/remote"


class TakeIn(Strict):
    ward: Code
    service: Code
    language: str = Field(default="ja", pattern="^(" + "|".join(LANGUAGE_CODES) + ")$")


@router.get(f"{P}/{{ward}}", response_model=H.RemoteOffer, dependencies=PUBLIC_PRIVATE,
            summary="The ward's services that give a place from home, and whether now (public)")
def get_offer(ward: WardPath, request: Request) -> dict[str, Any]:
    return remote.offer(bo_of(request), ward)


@router.post(f"{P}/take", response_model=H.RemotePlace, status_code=201,
             dependencies=PUBLIC_PRIVATE,
             summary="Take a place in today's queue from home (public, limited per address)")
def post_take(body: TakeIn, request: Request) -> dict[str, Any]:
    return remote.take(bo_of(request), body.ward, body.service,
                       address=client_address(request), language=body.language)


@router.post(f"{P}/find", response_model=H.RemotePlace, dependencies=PUBLIC_PRIVATE,
             summary="A place by its code: people ahead, check in by (public)")
def post_find(body: CodeIn, request: Request) -> dict[str, Any]:
    return remote.look_up(bo_of(request), body.code)


@router.post(f"{P}/cancel", response_model=H.RemotePlace, dependencies=PUBLIC_PRIVATE,
             summary="Give a place up by its code (public)")
def post_cancel(body: CodeIn, request: Request) -> dict[str, Any]:
    return remote.cancel(bo_of(request), body.code)


@router.post("/remote/check-in", response_model=H.RemoteCheckIn,
             summary="Check a place from home in at a kiosk of its ward: its ticket (kiosk)")
async def post_check_in(body: CodeIn, request: Request,
                        who: Principal = KIOSK) -> JSONResponse:
    answer = await run_in_threadpool(remote.check_in, bo_of(request), who, body.code,
                                     base(request))
    return JSONResponse(H.RemoteCheckIn.model_validate(answer).model_dump(mode="json"),
                        headers=NO_STORE)
