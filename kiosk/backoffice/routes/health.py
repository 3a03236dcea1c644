"""Device health for supervisors: every device of a ward with its problems, live (SSE),
and one device's history of state changes (kiosk.backoffice.device_health)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import device_health
from kiosk.backoffice import models as m
from kiosk.backoffice.auth import Principal, _token_of, hash_token
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading
from kiosk.backoffice.deps import SUPERVISOR, bo_of
from kiosk.backoffice.engine import lookups
from kiosk.backoffice.engine.errors import not_found
from kiosk.backoffice.events import Subscription, encode_named
from kiosk.backoffice.live import HEADERS, Recheck, _credential_recheck, _still_valid, _subscribe
from kiosk.backoffice.routes.releases import WardReleaseOut
from kiosk.backoffice.schemas import Out

router = APIRouter(tags=["devices"])
WardQuery = Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]


class UpdateState(Out):
    state: str
    version: str | None = None
    slot: str | None = None
    target: str | None = None
    progress: int | None = None
    reason: str | None = None
    rolled_back: str | None = None


class DeviceState(Out):
    id: int
    name: str
    kind: str
    ward: str
    active: bool
    status: str | None
    last_seen: str | None
    age_seconds: int | None
    version: str | None
    update: UpdateState | None
    outbox_pending: int | None
    uptime_seconds: int | None
    last_sync: str | None
    disk_free_mb: int | None
    components: dict[str, str]
    last_transaction_at: str | None = None   # a payment terminal's (no amount, no card)
    problems: list[str]
    alarm: bool


class WardDevices(Out):
    ward: str
    server_time: str | None
    stale_seconds: int
    alarm: bool
    release: WardReleaseOut | None
    devices: list[DeviceState]


class DeviceReport(Out):
    at: str | None
    status: str
    problems: list[str]
    version: str | None


def _ward(request: Request, who: Principal, ward: str) -> Backoffice:
    bo = bo_of(request)
    lookups.ward_of(bo, ward)
    who.check_ward(ward)
    return bo


@router.get("/devices/health", response_model=WardDevices,
            summary="Every device of a ward: its state, problems and the alarm (supervisor)")
def get_health(request: Request, ward: WardQuery, who: Principal = SUPERVISOR) -> dict[str, Any]:
    return device_health.ward_devices(_ward(request, who, ward), ward)


def _changes(view: dict[str, Any]) -> str:
    """What makes a new message: devices, their reports and problems, not the clock."""
    return json.dumps([{k: v for k, v in d.items() if k != "age_seconds"}
                       for d in view["devices"]], sort_keys=True, default=str)


async def _devices_stream(bo: Backoffice, sub: Subscription, ward: str,
                          recheck: Recheck) -> AsyncIterator[bytes]:
    """The ward's devices now, then again whenever something changed (a heartbeat, a device
    falling silent past [devices] stale_seconds); polled, so every process sees every
    heartbeat whichever process took it."""
    try:
        loop = asyncio.get_running_loop()
        poll = bo.settings.devices.stream_poll_seconds
        keepalive = bo.settings.events.keepalive_seconds
        shown = ""
        ping_at = check_at = loop.time()
        while True:
            now = loop.time()
            if now >= check_at:
                if not await _still_valid(recheck):
                    return
                check_at = now + recheck.seconds
            view = await run_in_threadpool(device_health.ward_devices, bo, ward)
            changed = _changes(view)
            if changed != shown:
                shown = changed
                ping_at = now + keepalive
                yield encode_named("devices", view)
            elif now >= ping_at:
                ping_at = now + keepalive
                yield b": keep-alive\n\n"
            if sub.dropped:
                return
            await asyncio.sleep(poll)
    finally:
        bo.hub.unsubscribe(sub)


@router.get("/devices/health/stream", response_class=Response,
            responses={200: {"content": {"text/event-stream": {}}}},
            summary="The ward's devices, live (SSE `devices` events; supervisor)")
async def get_health_stream(request: Request, ward: WardQuery,
                            who: Principal = SUPERVISOR) -> Response:
    bo = _ward(request, who, ward)
    token = _token_of(request)
    # Counted against the stream caps like every stream; it takes no ward event ("" is no
    # ward), its messages come from polling.
    sub = _subscribe(bo, Subscription(ward="", credential=hash_token(token or "")))
    return StreamingResponse(_devices_stream(bo, sub, ward, _credential_recheck(bo, token, who)),
                             media_type="text/event-stream", headers=HEADERS)


@router.get("/devices/{device_id}/reports", response_model=list[DeviceReport],
            summary="A device's changes of state, newest first (supervisor of its ward)")
def get_reports(request: Request, device_id: Annotated[int, Path(ge=1, le=2**31)],
                who: Principal = SUPERVISOR,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    bo = bo_of(request)
    with reading(bo.engine) as conn:
        ward = conn.execute(select(m.devices.c.ward).where(m.devices.c.id == device_id)
                            ).scalar_one_or_none()
    if ward is None:
        raise not_found(f"there is no device {device_id}")
    who.check_ward(ward)
    return device_health.history(bo, device_id, limit)

