"""The counter's actions on a ticket (call, start, complete, transfer, ...) and on a
counter (call next, open, close)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from kiosk.backoffice import schemas as S
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.deps import (
    NO_STORE,
    PRIVATE,
    STAFF,
    STAFF_OR_KIOSK,
    Code,
    CounterPath,
    Strict,
    TicketPath,
    WardPath,
    base,
    bo_of,
)
from kiosk.backoffice.engine import actions

router = APIRouter()


class ActionIn(Strict):
    counter: int | None = Field(None, ge=1, le=999)
    note: str | None = Field(None, max_length=500)


class TransferIn(ActionIn):
    service: Code


ACTION_SUMMARY = {
    "call": "Call this ticket to a counter", "recall": "Call again / bring back a no-show",
    "start": "Start serving", "complete": "Complete", "hold": "Hold (park)",
    "resume": "Back to the queue from hold", "no-show": "Mark no-show",
    "cancel": "Cancel (staff; or the kiosk that issued it, while waiting)",
}


@router.post("/tickets/{ticket_id}/transfer", tags=["counter"], dependencies=PRIVATE,
             response_model=S.Ticket,
             summary="Transfer to another service (staff)")
def post_transfer(ticket_id: TicketPath, body: TransferIn, request: Request,
                  who: Principal = STAFF) -> dict[str, Any]:
    return actions.act(bo_of(request), who, ticket_id, "transfer", service=body.service,
                       note=body.note, base_url=base(request))


def _action_route(action: str) -> None:
    callers = STAFF_OR_KIOSK if action == "cancel" else STAFF

    def post_action(ticket_id: TicketPath, request: Request, body: ActionIn | None = None,
                    who: Principal = callers) -> dict[str, Any]:
        body = body or ActionIn(counter=None, note=None)
        return actions.act(bo_of(request), who, ticket_id, action, counter=body.counter,
                           note=body.note, base_url=base(request))

    router.add_api_route(f"/tickets/{{ticket_id}}/{action}", post_action, methods=["POST"],
                         tags=["counter"], dependencies=PRIVATE, response_model=S.Ticket,
                         name=f"ticket_{action.replace('-', '_')}",
                         summary=f"{ACTION_SUMMARY[action]} (staff); 409 when illegal now")


for _action in ACTION_SUMMARY:
    _action_route(_action)


@router.post("/wards/{ward}/counters/{number}/call-next", tags=["counter"],
             dependencies=PRIVATE, response_model=S.Ticket,
             summary="Call the next ticket for this counter (staff); 204 when nobody waits",
             responses={204: {"description": "nobody waits"}})
def post_call_next(ward: WardPath, number: CounterPath, request: Request,
                   who: Principal = STAFF) -> Any:
    ticket = actions.call_next(bo_of(request), who, ward, number, base(request))
    if ticket is None:
        return Response(status_code=204, headers=NO_STORE)
    return ticket


@router.post("/wards/{ward}/counters/{number}/open", tags=["counter"],
             response_model=S.CounterState, summary="Open (staff)")
def post_open(ward: WardPath, number: CounterPath, request: Request,
              who: Principal = STAFF) -> dict[str, Any]:
    return actions.set_counter_open(bo_of(request), who, ward, number, True)


@router.post("/wards/{ward}/counters/{number}/close", tags=["counter"],
             response_model=S.CounterState, summary="Close (staff)")
def post_close(ward: WardPath, number: CounterPath, request: Request,
               who: Principal = STAFF) -> dict[str, Any]:
    return actions.set_counter_open(bo_of(request), who, ward, number, False)
