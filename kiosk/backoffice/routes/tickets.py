"""Issuing tickets (one, a batch, offline number blocks) and reading one: by key, with its
application, its audit trail, its form as PDF."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import schemas as S
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.clock import iso, local
from kiosk.backoffice.deps import (
    ISSUER,
    KIOSK,
    NO_STORE,
    PRIVATE,
    STAFF,
    Code,
    IdemKey,
    OptionalIdemKey,
    Strict,
    TicketPath,
    base,
    bo_of,
)
from kiosk.backoffice.engine import audit, issuing, offline_blocks, shapes, views
from kiosk.backoffice.engine.errors import EngineError, Gone, Unavailable, not_found
from kiosk.backoffice.errors import to_http
from kiosk.backoffice.routes.visits import VisitIn, visit_fields, visit_form

router = APIRouter()


class OfflineIn(Strict):
    block_id: int = Field(ge=1, le=2**31)
    number: int = Field(ge=1, le=999_999)
    issued_at: AwareDatetime
    status_token: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{43}$")


class TicketIn(VisitIn):
    ward: Code | None = None
    service: Code | None = None
    procedure: Code | None = None
    application: dict[str, Any] | None = None
    priority: Literal["normal", "priority", "appointment", "assistance"] = "normal"
    language: str = Field("ja", min_length=2, max_length=8, pattern=r"^[A-Za-z-]+$")
    offline: OfflineIn | None = None


@router.post("/tickets", tags=["tickets"], status_code=201, dependencies=PRIVATE,
             response_model=S.Ticket, responses={200: {
                 "model": S.Ticket, "description": "the ticket already issued under this key"}},
             summary="Issue a ticket (kiosk device or staff); idempotent on Idempotency-Key")
async def post_ticket(body: TicketIn, request: Request, idempotency_key: IdemKey,
                      who: Principal = ISSUER) -> JSONResponse:
    bo = bo_of(request)
    req = request_of(body)
    fast = bo.fast_issuer
    if fast is not None:  # PostgreSQL: one round trip on the event loop (fastpath.py)
        ticket = await fast.issue(who, req, idempotency_key, base(request))
        if ticket is not None:
            return JSONResponse(ticket, status_code=201, headers=NO_STORE)
    ticket, created = await run_in_threadpool(issuing.issue, bo, who, req, idempotency_key,
                                              base(request))
    return JSONResponse(ticket, status_code=201 if created else 200, headers=NO_STORE)


class BatchItem(TicketIn):
    idempotency_key: str = Field(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]+$")


class BatchIn(Strict):
    items: list[BatchItem] = Field(min_length=1, max_length=100)


def request_of(body: TicketIn) -> issuing.TicketRequest:
    offline = body.offline
    return issuing.TicketRequest(
        ward=body.ward, service=body.service, procedure=body.procedure,
        application=body.application, priority=body.priority, language=body.language,
        offline_block=offline.block_id if offline else None,
        offline_number=offline.number if offline else None,
        offline_issued_at=offline.issued_at if offline else None,
        status_token=offline.status_token if offline else None, **visit_fields(body))


@router.post("/tickets/batch", tags=["tickets"], dependencies=PRIVATE,
             response_model=S.BatchResults, response_model_exclude_unset=True,
             summary="Issue or upload up to 100 tickets at once (kiosk device or staff)")
def post_ticket_batch(body: BatchIn, request: Request,
                      who: Principal = ISSUER) -> dict[str, Any]:
    """Each item is the body of POST /tickets plus its idempotency_key, handled as if
    posted alone (its own transaction), and answered in order with its own status."""
    bo = bo_of(request)
    results: list[dict[str, Any]] = []
    for item in body.items:
        try:
            ticket, created = issuing.issue(bo, who, request_of(item), item.idempotency_key,
                                            base(request))
            results.append({"status": 201 if created else 200, "ticket": ticket})
        except EngineError as exc:
            error = to_http(exc)
            results.append({"status": error.status, **error.body()})
    return {"results": results}


@router.get("/tickets/by-key/{key}", tags=["tickets"], dependencies=PRIVATE,
            response_model=S.Ticket,
            summary="The ticket issued under an Idempotency-Key (the kiosk that issued it; "
                    "what its screen shows, no application)")
def get_ticket_by_key(key: Annotated[str, Path(min_length=8, max_length=128)],
                      request: Request, who: Principal = KIOSK) -> dict[str, Any]:
    return views.ticket_by_key(bo_of(request), who, key, base(request))


@router.get("/tickets/{ticket_id}", tags=["tickets"], dependencies=PRIVATE,
            response_model=S.TicketWithApplication,
            summary="One ticket with its application (staff of its ward; each read of an "
                    "application is written to its audit trail)")
def get_ticket(ticket_id: TicketPath, request: Request, who: Principal = STAFF) -> dict[str, Any]:
    # The console's application view reads through here in-process and says so
    # (web/routes.py); a client cannot set request state.
    via = getattr(request.state, "data_read_via", "api")
    return views.get_ticket(bo_of(request), who, ticket_id, base(request), via=via)


@router.get("/tickets/{ticket_id}/events", tags=["tickets"], dependencies=PRIVATE,
            response_model=list[S.TicketEvent],
            summary="Audit trail, including who read the ticket's data (staff)")
def get_ticket_events(ticket_id: TicketPath, request: Request,
                      who: Principal = STAFF) -> list[dict[str, Any]]:
    return views.ticket_events(bo_of(request), who, ticket_id)


@router.get("/tickets/{ticket_id}/form.pdf", tags=["tickets"],
            summary="The pre-filled application form as PDF (staff; the read is audited)",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def get_form_pdf(ticket_id: TicketPath, request: Request, who: Principal = STAFF,
                 procedure: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    from kiosk.domain.application import Application

    bo = bo_of(request)
    row = views.ticket_row(bo, who, ticket_id)
    if row.application_purged_at is not None:
        raise Gone("application_purged",
                   f"the application data of {row.label} was deleted at "
                   f"{iso(row.application_purged_at, bo.tz)} ({row.application_purge_reason}: "
                   "personal data is kept only for the retention period); nothing to print",
                   **(shapes.purged_info(row, bo.tz) or {}))
    application_data, code = visit_form(row, procedure)  # a routed visit: one of its forms
    if not application_data or not code:
        raise not_found(f"an application form for {row.label}")
    try:
        from kiosk.printing.forms import render_application_pdf
    except ImportError as exc:
        raise Unavailable("unavailable", "PDF forms are not available on this server yet "
                          f"(kiosk.printing.forms cannot be imported: {exc})") from None
    form = bo.catalog.procedures[code]
    application = Application.from_dict(application_data, form)
    pdf = render_application_pdf(form, application, ward=bo.catalog.wards[row.ward],
                                 ticket_number=row.label, issued_at=local(row.issued_at, bo.tz))
    audit.record_read(bo, who, row, "form.pdf")
    return Response(pdf, media_type="application/pdf", headers={
        **NO_STORE, "Content-Disposition": f'inline; filename="{row.label}.pdf"'})



class BlockIn(Strict):
    service: Code
    day: date
    size: int = Field(ge=1, le=10_000)


@router.post("/number-blocks", tags=["tickets"], status_code=201,
             response_model=S.NumberBlock, responses={200: {
                 "model": S.NumberBlock, "description": "the block reserved under this key"}},
             summary="Reserve a block of numbers for offline issuing (kiosk)")
def post_block(body: BlockIn, request: Request, who: Principal = KIOSK,
               idempotency_key: OptionalIdemKey = None) -> JSONResponse:
    """201 with a new block; 200 with the same block for a retry under the same key."""
    block, created = offline_blocks.reserve_block(bo_of(request), who, body.service, body.day,
                                                  body.size, idempotency_key)
    return JSONResponse(block, status_code=201 if created else 200)
