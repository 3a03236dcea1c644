"""Notifications (issue #19): the phone page's opt-in, keyed by the ticket's status token
(no account), and a ward's delivery figures for its supervisors.

    GET    /status/{token}/notifications          what this ticket opted into (public)
    PUT    /status/{token}/notifications/push     a Web Push subscription (public)
    DELETE /status/{token}/notifications/push
    PUT    /status/{token}/notifications/email    an e-mail address (public)
    DELETE /status/{token}/notifications/email
    GET    /wards/{ward}/notifications            sent / pending / failed / dropped counts

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


def _language(code: str) -> str:
    return code if code in LANGUAGE_CODES else "ja"


def _state(request: Request, token: str) -> dict[str, Any]:
    bo = bo_of(request)
    out = notify.state(bo, token)
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


@router.get("/wards/{ward}/notifications", response_model=NotifyCounts, dependencies=PRIVATE,
            summary="A ward's notifications by state and channel (its supervisors)")
async def get_counts(ward: WardPath, request: Request,
                     who: Principal = SUPERVISOR) -> dict[str, Any]:
    bo = bo_of(request)
    code = ward_of(bo, ward).code
    who.check_ward(code)
    return {"ward": code, "counts": await run_in_threadpool(notify.counts, bo, code)}
