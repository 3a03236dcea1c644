"""Routed visits (issue #17): what a routed ticket request carries, and the counter actions
on a visit's route (/api/v1/tickets/{id}/route/...): add a stage, skip one, reorder the
stages still to come, send the visit back to an earlier stage. Each is audited in the
ticket's events as visit.<action>; the work is engine/visits.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from kiosk.backoffice import schemas as S
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.deps import PRIVATE, STAFF, Code, IdemKey, Strict, TicketPath, bo_of
from kiosk.backoffice.engine import interview, visits

router = APIRouter(tags=["visits"])

Words = Annotated[str, Field(min_length=1, max_length=200)]


# --- what POST /tickets carries for a routed visit (api.TicketIn) -----------------------------

class StageIn(Strict):
    service: Code
    procedures: list[Code] = Field(min_length=1, max_length=20)


class GuideItemIn(Strict):
    """One line of the 手続き案内票 (non-personal: Japanese msgids and places)."""
    name: Words
    place: Literal["here", "other", "online"]
    office: Words | None = None
    bring: list[Words] = Field(default_factory=list, max_length=20)
    url: Annotated[str, Field(max_length=500)] | None = None
    service: Code | None = None


class VisitIn(Strict):
    """The routed-ticket fields of api.TicketIn (docs/api.md, "Routed visits")."""
    life_event: Code | None = None
    route: list[StageIn] | None = Field(None, min_length=1, max_length=visits.MAX_STAGES)
    applications: list[dict[str, Any]] | None = Field(None, max_length=40)
    guide: list[GuideItemIn] | None = Field(None, max_length=60)


def visit_fields(body: VisitIn) -> dict[str, Any]:
    """The TicketRequest keyword arguments of a request's routed-visit fields."""
    return {"route": None if body.route is None else [s.model_dump() for s in body.route],
            "applications": body.applications, "life_event": body.life_event,
            "guide": None if body.guide is None
            else [g.model_dump(exclude_none=True) for g in body.guide]}


def visit_form(row: Any, procedure: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The application record and procedure a form.pdf prints: a one-queue ticket's own,
    or the one of a routed visit's forms `?procedure=` names (the first when not named)."""
    if not isinstance(row.application, list):
        return row.application, row.procedure
    for app in row.application:
        if procedure in (None, app.get("procedure")):
            return app, app.get("procedure")
    return None, None


# --- counter actions on a route -----------------------------------------------------------

class NoteIn(Strict):
    note: str | None = Field(None, max_length=500)


class AddStageIn(NoteIn):
    service: Code
    procedures: list[Code] = Field(min_length=1, max_length=20)


class StageRefIn(NoteIn):
    seq: int = Field(ge=1, le=visits.MAX_STAGES)


class ReorderIn(NoteIn):
    order: list[Annotated[int, Field(ge=1, le=visits.MAX_STAGES)]] = Field(
        min_length=1, max_length=visits.MAX_STAGES)



# action -> (its body, what it does); each answers the ticket with its route
ROUTE_ACTIONS: dict[str, tuple[type[NoteIn], str]] = {
    "add": (AddStageIn, "Add a stage to a routed visit"),
    "skip": (StageRefIn, "Skip a stage still to come, or the current one"),
    "reorder": (ReorderIn, "Reorder the waiting stages after the current one"),
    "send-back": (StageRefIn, "Send the visit back to an earlier stage"),
}


def _route_action(action: str, body_model: type[NoteIn], summary: str) -> None:
    def post_route_action(ticket_id: TicketPath, request: Request, body: Any,
                          who: Principal = STAFF) -> dict[str, Any]:
        return visits.change_route(bo_of(request), who, ticket_id, action,
                                   base_url=str(request.base_url), **body.model_dump())

    # The body's model differs per action: FastAPI reads it from the annotation.
    post_route_action.__annotations__["body"] = body_model
    router.add_api_route(f"/tickets/{{ticket_id}}/route/{action}", post_route_action,
                         methods=["POST"], dependencies=PRIVATE, response_model=S.Ticket,
                         name=f"route_{action.replace('-', '_')}",
                         summary=f"{summary} (staff of its ward); 409 when not possible now")


for _action, (_model, _summary) in ROUTE_ACTIONS.items():
    _route_action(_action, _model, _summary)


# --- interview mode: the life-event questions on the console ---------------------------------

class InterviewIn(Strict):
    ward: Code
    event: Code
    answers: dict[Annotated[str, Field(max_length=64)],
                  Annotated[str, Field(max_length=100)]] = Field(default_factory=dict,
                                                                 max_length=40)
    add: list[Code] = Field(default_factory=list, max_length=20)
    drop: list[Code] = Field(default_factory=list, max_length=40)


class InterviewTicketIn(InterviewIn):
    values: dict[Annotated[str, Field(max_length=80)], Any] = Field(default_factory=dict,
                                                                    max_length=200)
    language: str = Field("ja", min_length=2, max_length=8, pattern=r"^[A-Za-z-]+$")




@router.get("/life-events", response_model=list[S.LifeEventSummary],
            summary="The life events the interview mode asks about (staff)")
def get_life_events(request: Request, who: Principal = STAFF) -> list[dict[str, Any]]:
    return interview.events_json(bo_of(request))


@router.post("/interview", dependencies=PRIVATE, response_model=S.Interview,
             summary="Interview mode: the next question, or the derived list, its route, "
                     "guide and the fields to type (staff of the ward)")
def post_interview(body: InterviewIn, request: Request,
                   who: Principal = STAFF) -> dict[str, Any]:
    return interview.interview(bo_of(request), who, body.ward, body.event, body.answers,
                               body.add, body.drop)


@router.post("/interview/tickets", status_code=201, dependencies=PRIVATE,
             response_model=S.InterviewTicket,
             summary="Interview mode: issue the routed ticket with the forms the clerk "
                     "typed (staff of the ward); idempotent on Idempotency-Key")
def post_interview_ticket(body: InterviewTicketIn, request: Request, idempotency_key: IdemKey,
                          who: Principal = STAFF) -> JSONResponse:
    ticket, created = interview.issue(
        bo_of(request), who, body.ward, body.event, body.answers, body.add, body.drop,
        body.values, body.language, idempotency_key, str(request.base_url))
    return JSONResponse(ticket, status_code=201 if created else 200,
                        headers={"Cache-Control": "no-store"})
