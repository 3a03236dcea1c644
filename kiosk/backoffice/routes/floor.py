"""Help from a person: a kiosk's "ask staff" alerts the floor staff (案内係).

    POST /floor/requests                      a kiosk (device token): where it stands
    GET  /wards/{ward}/floor/requests         the ward's staff: open ones, recently taken
    POST /wards/{ward}/floor/requests/{id}/take   a staff member takes one (recorded)
    GET  /wards/{ward}/floor/stream           the ward's staff: SSE `floor.changed`

A request names the kiosk, its place and the time — never the resident: the body is
`place` + `reason` and nothing else (extra="forbid"). The stream tells the floor view
that something changed (it then re-reads the list); it watches the table itself, so it
works whichever server process the kiosk's request reached.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy import func, select, update
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import models as m
from kiosk.backoffice import schemas as S
from kiosk.backoffice.auth import Principal, _token_of
from kiosk.backoffice.clock import iso, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.deps import KIOSK, PRIVATE, STAFF, Strict, TicketPath, WardPath, bo_of
from kiosk.backoffice.errors import ApiError
from kiosk.backoffice.live import HEADERS, _credential_recheck

router = APIRouter(tags=["floor"])

TAKEN_SHOWN = timedelta(hours=1)
WATCH_S = 1.0      # how often a stream looks for a change (one indexed read)
KEEPALIVE_S = 15.0


class FloorRequestIn(Strict):
    place: Annotated[str, Field(max_length=40, pattern=r"^[^\x00-\x1f<>]*$")] = ""
    reason: Literal["ask_staff", "keypad"] = "ask_staff"


def _out(bo: Backoffice, row: Any) -> S.FloorRequest:
    return S.FloorRequest(id=row.id, ward=row.ward, kiosk=row.kiosk, place=row.place,
                          reason=row.reason, created_at=iso(row.created_at, bo.tz) or "",
                          taken_by=row.taken_by, taken_at=iso(row.taken_at, bo.tz))


def _query() -> Any:
    f, d = m.floor_requests, m.devices
    return select(f, d.c.name.label("kiosk")).join(d, d.c.id == f.c.device_id)


def _ward_checked(bo: Backoffice, who: Principal, ward: str) -> None:
    if ward not in bo.catalog.wards:
        raise ApiError(404, "not_found", f"ward {ward!r} does not exist")
    who.check_ward(ward)


@router.post("/floor/requests", response_model=S.FloorRequest, status_code=201,
             summary="Ask the floor staff to come to this kiosk (a kiosk's device token)")
def ask_floor(body: FloorRequestIn, request: Request, who: Principal = KIOSK) -> S.FloorRequest:
    bo = bo_of(request)
    assert who.ward is not None and who.device_id is not None
    with writing(bo.engine) as conn:
        new_id = conn.execute(m.floor_requests.insert().values(
            ward=who.ward, device_id=who.device_id, place=body.place.strip(),
            reason=body.reason, created_at=utcnow()).returning(m.floor_requests.c.id)
        ).scalar_one()
        row = conn.execute(_query().where(m.floor_requests.c.id == new_id)).one()
    return _out(bo, row)


def _listing(bo: Backoffice, ward: str) -> S.FloorRequests:
    f = m.floor_requests
    with reading(bo.engine) as conn:
        open_ = conn.execute(_query().where(f.c.ward == ward, f.c.taken_at.is_(None))
                             .order_by(f.c.id)).all()
        taken = conn.execute(_query().where(f.c.ward == ward,
                                            f.c.taken_at >= utcnow() - TAKEN_SHOWN)
                             .order_by(f.c.taken_at.desc()).limit(20)).all()
    return S.FloorRequests(ward=ward, open=[_out(bo, r) for r in open_],
                           taken=[_out(bo, r) for r in taken])


@router.get("/wards/{ward}/floor/requests", response_model=S.FloorRequests,
            dependencies=PRIVATE, summary="The ward's open floor requests (staff)")
def list_floor(ward: WardPath, request: Request, who: Principal = STAFF) -> S.FloorRequests:
    bo = bo_of(request)
    _ward_checked(bo, who, ward)
    return _listing(bo, ward)


@router.post("/wards/{ward}/floor/requests/{request_id}/take", response_model=S.FloorRequest,
             summary="Take a floor request: this staff member goes to the kiosk")
def take_floor(ward: WardPath, request_id: TicketPath, request: Request,
               who: Principal = STAFF) -> S.FloorRequest:
    bo = bo_of(request)
    _ward_checked(bo, who, ward)
    f = m.floor_requests
    with writing(bo.engine) as conn:
        done = conn.execute(update(f).where(f.c.id == request_id, f.c.ward == ward,
                                            f.c.taken_at.is_(None))
                            .values(taken_by=who.username, taken_at=utcnow())).rowcount
        row = conn.execute(_query().where(f.c.id == request_id, f.c.ward == ward)).first()
    if row is None:
        raise ApiError(404, "not_found", f"floor request {request_id} does not exist")
    if not done and row.taken_by != who.username:
        raise ApiError(409, "taken", f"already taken by {row.taken_by}",
                       {"taken_by": row.taken_by})
    return _out(bo, row)


def _state(bo: Backoffice, ward: str) -> tuple[int, int]:
    """What changes when a request comes or is taken: the newest id, the open count."""
    f = m.floor_requests
    with reading(bo.engine) as conn:
        newest, still_open = conn.execute(select(
            func.max(f.c.id), func.count().filter(f.c.taken_at.is_(None)))
            .where(f.c.ward == ward)).one()
    return int(newest or 0), int(still_open or 0)


@router.get("/wards/{ward}/floor/stream", response_class=StreamingResponse,
            summary="Server-Sent Events `floor.changed` when a request comes or is taken")
async def floor_stream(ward: WardPath, request: Request,
                       who: Principal = STAFF) -> StreamingResponse:
    bo = bo_of(request)
    _ward_checked(bo, who, ward)
    recheck = _credential_recheck(bo, _token_of(request), who)

    async def events() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        last: tuple[int, int] | None = None
        check_at = ping_at = loop.time()
        while not await request.is_disconnected():
            now = await run_in_threadpool(_state, bo, ward)
            if now != last:
                data = json.dumps({"newest": now[0], "open": now[1]})
                yield f"event: floor.changed\ndata: {data}\n\n".encode()
                last, ping_at = now, loop.time() + KEEPALIVE_S
            if loop.time() >= ping_at:
                yield b": keep-alive\n\n"
                ping_at = loop.time() + KEEPALIVE_S
            if loop.time() >= check_at + recheck.seconds:
                if not await run_in_threadpool(recheck.valid):
                    return
                check_at = loop.time()
            await asyncio.sleep(WATCH_S)

    return StreamingResponse(events(), media_type="text/event-stream", headers=HEADERS)
