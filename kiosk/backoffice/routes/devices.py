"""A device's configuration and heartbeat; device health for supervisors."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, Field
from sqlalchemy import select, update

from kiosk.backoffice import device_health
from kiosk.backoffice import models as m
from kiosk.backoffice import schemas as S
from kiosk.backoffice.auth import Principal, require_any
from kiosk.backoffice.clock import iso, utcnow
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.deps import DEVICE, SUPERVISOR, Strict, base, bo_of
from kiosk.backoffice.engine import lookups
from kiosk.backoffice.errors import ApiError
from kiosk.backoffice.principal import ENROLLED_KINDS
from kiosk.backoffice.privacy import refuse_my_number

ANY_DEVICE = Depends(require_any(role=None, devices=ENROLLED_KINDS))  # terminals too
router = APIRouter()


@router.get("/device/config", tags=["devices"], response_model=S.DeviceConfig,
            responses={304: {"description": "not modified (If-None-Match)"}},
            summary="Configuration for this device's ward")
def device_config(request: Request, who: Principal = DEVICE) -> Response:
    bo = bo_of(request)
    assert who.ward is not None
    etag = f'"{bo.catalog_version}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    ward = bo.catalog.wards[who.ward]
    ward_dict = next(w for w in bo.catalog_dict["wards"] if w["code"] == ward.code)
    offered = set(ward.services)
    body = {
        "version": bo.catalog_version, "server_time": iso(utcnow(), bo.tz),
        "timezone": bo.settings.server.timezone,
        "public_url": bo.settings.server.public_url or base(request).rstrip("/"),
        "ward": {**ward_dict, "open_now": lookups.is_open(bo, ward),
                 "state": lookups.ward_state(bo, ward.code)},
        "services": [s for s in bo.catalog_dict["services"] if s["code"] in offered],
        "procedures": [p for p in bo.catalog_dict["procedures"] if p["service"] in offered],
    }
    return JSONResponse(body, headers={"ETag": etag})


class MaintainerUnlockIn(Strict):
    """A kiosk's maintainer-PIN attempts since it was provisioned (shown in GET /devices)."""
    ok: int = Field(0, ge=0)
    wrong: int = Field(0, ge=0)
    locked: int = Field(0, ge=0)      # tries while locked (not even checked)
    last: Literal["ok", "wrong", "locked"] | None = None
    last_at: AwareDatetime | None = None
    locked_until: AwareDatetime | None = None


class UpdateIn(Strict):
    """A kiosk's update agent (kiosk/fleet/agent.py): what it runs and what it is doing."""
    state: Literal["up-to-date", "downloading", "waiting-idle", "installing",
                   "waiting-reboot", "rebooting", "failed", "rolled-back"]
    version: str | None = Field(None, max_length=64)     # running (the booted slot's)
    slot: str | None = Field(None, max_length=16)        # the booted slot ("A")
    target: str | None = Field(None, max_length=64)
    progress: int | None = Field(None, ge=0, le=100)
    reason: str | None = Field(None, max_length=200)
    rolled_back: str | None = Field(None, max_length=64)  # a version that failed to boot


class HeartbeatIn(Strict):
    status: Literal["ok", "degraded", "error"]
    version: str | None = Field(None, max_length=64)
    outbox_pending: int | None = Field(None, ge=0)
    components: dict[str, str] | None = None
    message: str | None = Field(None, max_length=500)
    uptime_seconds: int | None = Field(None, ge=0, le=10**9)
    last_sync: AwareDatetime | None = None     # the device's last answer from this server
    maintainer_unlock: MaintainerUnlockIn | None = None
    update: UpdateIn | None = None
    # a payment terminal's own report: when it last completed a transaction (no amount,
    # no card, no resident) and its current error codes (codes only, no free text)
    last_transaction_at: AwareDatetime | None = None
    errors: list[Annotated[str, Field(max_length=40, pattern=r"^[a-z0-9_.:-]+$")]] | None = \
        Field(None, max_length=10)


@router.post("/device/heartbeat", tags=["devices"], response_model=S.HeartbeatAck,
             summary="Device health report")
def device_heartbeat(body: HeartbeatIn, request: Request,
                     who: Principal = ANY_DEVICE) -> dict[str, Any]:
    bo = bo_of(request)
    payload = body.model_dump(mode="json")
    refuse_my_number(payload, "heartbeat")
    if len(json.dumps(payload)) > 4096:
        raise ApiError(413, "payload_too_large", "a heartbeat is at most 4 KiB")
    now = utcnow()
    with writing(bo.engine) as conn:
        before = conn.execute(select(m.devices).where(m.devices.c.id == who.device_id)).one()
        conn.execute(update(m.devices).where(m.devices.c.id == who.device_id).values(
            last_seen=now, status=body.status, heartbeat=payload))
        device_health.record(bo, conn, before, body.status, payload, now)
    return {"server_time": iso(utcnow(), bo.tz), "config_version": bo.catalog_version}


@router.get("/devices", tags=["devices"], response_model=list[S.Device],
            summary="Device health (supervisor)")
def list_devices(request: Request, who: Principal = SUPERVISOR) -> list[dict[str, Any]]:
    bo = bo_of(request)
    d = m.devices
    with reading(bo.engine) as conn:
        rows = conn.execute(select(d).order_by(d.c.ward, d.c.name)).all()
    return [{"id": r.id, "name": r.name, "kind": r.kind, "ward": r.ward, "active": r.active,
             "last_seen": iso(r.last_seen, bo.tz), "status": r.status,
             "heartbeat": r.heartbeat} for r in rows if who.may_see_ward(r.ward)]
