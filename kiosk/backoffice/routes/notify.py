"""Notifications (issue #19): the phone page's opt-in, keyed by the ticket's status token
(no account), and a ward's delivery figures for its supervisors.

    GET    /status/{token}/notifications          what this ticket opted into (public)
    PUT    /status/{token}/notifications/push     a Web Push subscription (public)
    DELETE /status/{token}/notifications/push
    PUT    /status/{token}/notifications/email    an e-mail address (public)
    DELETE /status/{token}/notifications/email
    GET    /wards/{ward}/notifications            sent / pending / failed / dropped counts

A place from home (engine/remote.py) opts in the same way, keyed by its code — in the POST
body, never in a URL — for the "almost your turn: check in by HH:MM" notice:

    POST   /public/remote/notifications           {code}: what the place opted into
    POST   /public/remote/notifications/push      {code, endpoint, keys, language}
    POST   /public/remote/notifications/email     {code, address, language}
    POST   /public/remote/notifications/stop      {code, channel}

Public routes are rate-limited and never cached; the subscription lives as long as the
ticket (engine/notify.py). Nothing here echoes an address or an endpoint back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice.deps import PRIVATE, SUPERVISOR, Strict, WardPath, bo_of
from kiosk.backoffice.engine import notify
from kiosk.backoffice.engine.lookups import ward_of
from kiosk.backoffice.principal import Principal
from kiosk.backoffice.ratelimit import PUBLIC
from kiosk.backoffice.routes.appointments import BookingCode
from kiosk.backoffice.schemas_home import NotifyCounts, NotifyState, NotifySubscription
from kiosk.i18n import LANGUAGE_CODES

router = APIRouter(tags=["notifications"])

TokenPath = Annotated[str, Path(min_length=1, max_length=64)]
Language = Annotated[str, Field(min_length=2, max_length=8, pattern=r"^[A-Za-z-]+$")]


class PushKeys(Strict):
    p256dh: Annotated[str, Field(min_length=80, max_length=100, pattern=r"^[A-Za-z0-9_-]+=*$")]
    auth: Annotated[str, Field(min_length=16, max_length=32, pattern=r"^[A-Za-z0-9_-]+=*$")]


class PushIn(Strict):
    """PushSubscription.toJSON() of the browser (expirationTime is ignored)."""
    endpoint: Annotated[str, Field(min_length=12, max_length=1024,
                                   pattern=r"^https?://[\x21-\x7e]+$")]
    keys: PushKeys
    expirationTime: int | None = None
    language: Language = "ja"


class EmailIn(Strict):
    address: Annotated[str, Field(min_length=3, max_length=254)]
    language: Language = "ja"


class PlaceIn(Strict):
    code: BookingCode


class PlacePushIn(PushIn):
    code: BookingCode


class PlaceEmailIn(EmailIn):
    code: BookingCode


class PlaceStopIn(PlaceIn):
    channel: Literal["push", "email"]


def _language(code: str) -> str:
    return code if code in LANGUAGE_CODES else "ja"


def _state(request: Request, token: str, place: bool = False) -> dict[str, Any]:
    bo = bo_of(request)
    out = notify.state_place(bo, token) if place else notify.state(bo, token)
    vapid = getattr(request.app.state, "vapid_public_key", None)
    out["vapid_public_key"] = vapid if out["push_available"] else None
    return out


@router.get("/status/{token}/notifications", dependencies=[*PRIVATE, PUBLIC],
            response_model=NotifyState,
            summary="What a ticket opted into, and what the office sends (public)")
async def get_notifications(token: TokenPath, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_state, request, token)


def _opt_in(channel: str, how: str) -> Any:
    return router.put(f"/status/{{token}}/notifications/{channel}",
                      dependencies=[*PRIVATE, PUBLIC], response_model=NotifySubscription,
                      summary=f"Receive \"N ahead\" and \"called\" by {how} (public)")


@_opt_in("push", "Web Push")
async def put_push(token: TokenPath, body: PushIn, request: Request) -> dict[str, Any]:
    bo = bo_of(request)
    return await run_in_threadpool(
        lambda: notify.subscribe(bo, token, "push", body.endpoint, _language(body.language),
                                 p256dh=body.keys.p256dh.rstrip("="),
                                 auth=body.keys.auth.rstrip("=")))


@_opt_in("email", "e-mail")
async def put_email(token: TokenPath, body: EmailIn, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(lambda: notify.subscribe(
        bo_of(request), token, "email", body.address.strip(), _language(body.language)))


@router.delete("/status/{token}/notifications/{channel}", dependencies=[*PRIVATE, PUBLIC],
               response_model=NotifySubscription,
               summary="Stop the push or e-mail notices of a ticket (public)")
async def delete_channel(token: TokenPath, channel: Literal["push", "email"],
                         request: Request) -> dict[str, Any]:
    bo = bo_of(request)
    return await run_in_threadpool(notify.unsubscribe, bo, token, channel)


R = "/public/remote/notifications"


@router.post(R, dependencies=[*PRIVATE, PUBLIC], response_model=NotifyState,
             summary="What a place from home opted into, and what the office sends (public)")
async def post_place_state(body: PlaceIn, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_state, request, body.code, True)


@router.post(f"{R}/push", dependencies=[*PRIVATE, PUBLIC], response_model=NotifySubscription,
             summary="A place's \"check in by\" notice by Web Push (public)")
async def post_place_push(body: PlacePushIn, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(lambda: notify.subscribe_place(
        bo_of(request), body.code, "push", body.endpoint, _language(body.language),
        p256dh=body.keys.p256dh.rstrip("="), auth=body.keys.auth.rstrip("=")))


@router.post(f"{R}/email", dependencies=[*PRIVATE, PUBLIC], response_model=NotifySubscription,
             summary="A place's \"check in by\" notice by e-mail (public)")
async def post_place_email(body: PlaceEmailIn, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(lambda: notify.subscribe_place(
        bo_of(request), body.code, "email", body.address.strip(), _language(body.language)))


@router.post(f"{R}/stop", dependencies=[*PRIVATE, PUBLIC], response_model=NotifySubscription,
             summary="Stop a place's push or e-mail notice (public)")
async def post_place_stop(body: PlaceStopIn, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(notify.unsubscribe_place, bo_of(request), body.code,
                                   body.channel)


@router.get("/wards/{ward}/notifications", response_model=NotifyCounts, dependencies=PRIVATE,
            summary="A ward's notifications by state and channel (its supervisors)")
async def get_counts(ward: WardPath, request: Request,
                     who: Principal = SUPERVISOR) -> dict[str, Any]:
    bo = bo_of(request)
    code = ward_of(bo, ward).code
    who.check_ward(code)
    return {"ward": code, "counts": await run_in_threadpool(notify.counts, bo, code)}
