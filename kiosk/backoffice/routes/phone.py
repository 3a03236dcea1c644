"""The phone page's API: a ticket's status by its token, and its live events (public)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from kiosk.backoffice import schemas as S
from kiosk.backoffice.deps import PRIVATE, bo_of
from kiosk.backoffice.engine import shapes, views
from kiosk.backoffice.live import stream_status
from kiosk.backoffice.ratelimit import PUBLIC

router = APIRouter()


@router.get("/status/{token}", tags=["phone"], dependencies=[*PRIVATE, PUBLIC],
            response_model=S.PhoneStatus,
            summary="A ticket's status by its token (public; 410 once the ticket has ended)")
def get_status(token: Annotated[str, Path(max_length=64)], request: Request) -> dict[str, Any]:
    bo = bo_of(request)
    row, ahead = views.ticket_by_status_token(bo, token)
    return shapes.status_json(bo, row, ahead)


@router.get("/status/{token}/events", tags=["phone"], dependencies=[PUBLIC],
            summary="Live events of one ticket by its token (SSE, public)",
            response_class=Response, responses={200: {"content": {"text/event-stream": {}}}})
async def get_status_events(token: Annotated[str, Path(max_length=64)],
                            request: Request) -> Response:
    return await stream_status(request, bo_of(request), token)
