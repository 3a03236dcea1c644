"""Live events of a ward (SSE; staff or device)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from kiosk.backoffice.auth import Principal
from kiosk.backoffice.deps import STAFF_OR_DEVICE, bo_of
from kiosk.backoffice.engine import lookups
from kiosk.backoffice.engine.errors import Invalid
from kiosk.backoffice.live import stream_ward

router = APIRouter()


@router.get("/events", tags=["events"], summary="Live events (SSE; staff or device)",
            response_class=Response, responses={200: {"content": {"text/event-stream": {}}}})
async def get_events(request: Request, ward: Annotated[str, Query(max_length=32)],
                     service: Annotated[str | None, Query(max_length=32)] = None,
                     ticket: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                     last_event_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
                     who: Principal = STAFF_OR_DEVICE) -> Response:
    bo = bo_of(request)
    lookups.ward_of(bo, ward)
    who.check_ward(ward)
    if service is not None and service not in bo.catalog.services:
        raise Invalid("unknown_service", f"there is no service {service!r}")
    return await stream_ward(request, bo, who, ward, service, ticket, last_event_id)
