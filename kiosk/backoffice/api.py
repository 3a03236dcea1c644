"""The HTTP API (/api/v1). Every route names who may call it through its dependency.

Contract: docs/api.md. Routes are thin: validation by pydantic, work in kiosk.backoffice.engine.

Over 400 lines: the request models and routes of tickets, counters, wards, devices, sign-in
and streams in one router; one module per resource is the next cut.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import audience
from kiosk.backoffice import models as m
from kiosk.backoffice import schemas as S
from kiosk.backoffice.auth import (
    COOKIE,
    Principal,
    login,
    logout,
    require,
    require_any,
    require_device,
    require_staff,
)
from kiosk.backoffice.clock import iso, local, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine import actions, audit, issuing, lookups, offline_blocks, shapes, views
from kiosk.backoffice.engine.errors import EngineError, Gone, Invalid, Unavailable, not_found
from kiosk.backoffice.errors import ApiError, to_http
from kiosk.backoffice.live import stream_status, stream_ward
from kiosk.backoffice.privacy import refuse_my_number
from kiosk.backoffice.visit_routes import VisitIn, visit_fields, visit_form

router = APIRouter(prefix="/api/v1")

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
WardPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
CounterPath = Annotated[int, Path(ge=1, le=999)]
TicketPath = Annotated[int, Path(ge=1, le=2**62)]

STAFF = Depends(require_staff("staff"))
SUPERVISOR = Depends(require_staff("supervisor"))
ADMIN = Depends(require_staff("admin"))
DEVICE = Depends(require_device())
KIOSK = Depends(require_device("kiosk"))
STAFF_OR_KIOSK = Depends(require_any(role="staff", devices=("kiosk",)))
ISSUER = Depends(require(issuing.ISSUERS))
STAFF_OR_DEVICE = Depends(require_any(role="staff"))
# Responses about one resident's ticket (its application, notes, status token) must not be
# kept by a browser or proxy: counter PCs are shared.
NO_STORE = {"Cache-Control": "no-store"}


def no_store(response: Response) -> None:
    response.headers.update(NO_STORE)


PRIVATE = [Depends(no_store)]


def bo_of(request: Request) -> Backoffice:
    bo: Backoffice = request.app.state.backoffice
    return bo


def base(request: Request) -> str:
    return str(request.base_url)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- auth ------------------------------------------------------------------------------

class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@router.post("/auth/login", tags=["auth"], response_model=S.SignedIn,
             summary="Staff sign-in (public, rate-limited)")
def auth_login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    bo = bo_of(request)
    address = request.client.host if request.client else "unknown"
    result = login(bo, body.username, body.password, address)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="strict", path="/",
                        secure=bo.settings.security.cookie_secure,
                        max_age=bo.settings.security.session_hours * 3600)
    p = result.principal
    return {"token": result.token, "username": p.username, "role": p.role, "ward": p.ward,
            "expires_at": iso(result.expires_at, bo.tz)}  # type: ignore[arg-type]


@router.post("/auth/logout", tags=["auth"], status_code=204, summary="Sign out (staff)")
def auth_logout(request: Request, who: Principal = STAFF) -> Response:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.cookies.get(COOKIE)
    if token:
        logout(bo_of(request), token)
    out = Response(status_code=204)
    out.delete_cookie(COOKIE, path="/")
    return out


@router.get("/auth/me", tags=["auth"], response_model=S.Me,
            response_model_exclude_unset=True, summary="Who am I (staff or device)")
def auth_me(who: Principal = STAFF_OR_DEVICE) -> dict[str, object]:
    return who.public()


# --- catalog, wards, devices -------------------------------------------------------------

@router.get("/catalog", tags=["catalog"], response_model=S.Catalog,
            summary="The procedure catalog (public)")
def get_catalog(request: Request) -> dict[str, Any]:
    bo = bo_of(request)
    return {"version": bo.catalog_version, **bo.catalog_dict}


@router.get("/wards", tags=["catalog"], response_model=list[S.WardHours],
            summary="Wards and whether they are open (public)")
def get_wards(request: Request) -> list[dict[str, Any]]:
    bo = bo_of(request)
    return [{"code": w.code, "name": w.name, "open_now": lookups.is_open(bo, w),
             "opens": f"{w.hours.opens:%H:%M}", "closes": f"{w.hours.closes:%H:%M}",
             "weekdays": list(w.hours.weekdays)} for w in bo.catalog.wards.values()]


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


class HeartbeatIn(Strict):
    status: Literal["ok", "degraded", "error"]
    version: str | None = Field(None, max_length=64)
    outbox_pending: int | None = Field(None, ge=0)
    components: dict[str, str] | None = None
    message: str | None = Field(None, max_length=500)
    maintainer_unlock: MaintainerUnlockIn | None = None


@router.post("/device/heartbeat", tags=["devices"], response_model=S.HeartbeatAck,
             summary="Device health report")
def device_heartbeat(body: HeartbeatIn, request: Request,
                     who: Principal = DEVICE) -> dict[str, Any]:
    bo = bo_of(request)
    payload = body.model_dump(mode="json")
    refuse_my_number(payload, "heartbeat")
    if len(json.dumps(payload)) > 4096:
        raise ApiError(413, "payload_too_large", "a heartbeat is at most 4 KiB")
    with writing(bo.engine) as conn:
        conn.execute(update(m.devices).where(m.devices.c.id == who.device_id).values(
            last_seen=utcnow(), status=body.status, heartbeat=payload))
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


class WardStateIn(Strict):
    state: Literal["open", "closed", "auto"]


@router.put("/wards/{ward}/state", tags=["wards"], response_model=S.WardState,
            summary="Open/close a ward by hand (supervisor)")
def put_ward_state(ward: WardPath, body: WardStateIn, request: Request,
                   who: Principal = SUPERVISOR) -> dict[str, Any]:
    return actions.set_ward_state(bo_of(request), who, ward, body.state)


# --- tickets -----------------------------------------------------------------------------

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


IdemKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128,
                                pattern=r"^[\x21-\x7e]+$")]
OptionalIdemKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=8,
                                               max_length=128, pattern=r"^[\x21-\x7e]+$")]


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


# --- counters and queue views ---------------------------------------------------------------

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


@router.get("/wards/{ward}/queue", tags=["wards"], response_model=S.QueueView,
            response_model_exclude_unset=True,
            summary="Waiting lists and counters (staff, display, kiosk)")
def get_queue(ward: WardPath, request: Request, who: Principal = STAFF_OR_DEVICE) -> dict[str, Any]:
    who.check_ward(ward)
    # A display or kiosk gets what its stream's snapshot has: numbers, counters, counts.
    return audience.queue_view_for(audience.of(who), views.queue_view(bo_of(request), ward))


@router.get("/wards/{ward}/estimates", tags=["wards"], response_model=S.Estimates,
            summary="Wait estimates (public)")
def get_estimates(ward: WardPath, request: Request) -> dict[str, Any]:
    return views.estimates_view(bo_of(request), ward)


@router.get("/overview", tags=["wards"], response_model=list[S.Estimates],
            summary="Every ward's waits (supervisor)")
def get_overview(request: Request, who: Principal = SUPERVISOR) -> list[dict[str, Any]]:
    bo = bo_of(request)
    return [views.estimates_view(bo, code) for code in bo.catalog.wards
            if who.may_see_ward(code)]


# --- live events and the phone page ----------------------------------------------------------

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


@router.get("/status/{token}", tags=["phone"], dependencies=PRIVATE,
            response_model=S.PhoneStatus,
            summary="A ticket's status by its token (public; 410 once the ticket has ended)")
def get_status(token: Annotated[str, Path(max_length=64)], request: Request) -> dict[str, Any]:
    bo = bo_of(request)
    row, ahead = views.ticket_by_status_token(bo, token)
    return shapes.status_json(bo, row, ahead)


@router.get("/status/{token}/events", tags=["phone"],
            summary="Live events of one ticket by its token (SSE, public)",
            response_class=Response, responses={200: {"content": {"text/event-stream": {}}}})
async def get_status_events(token: Annotated[str, Path(max_length=64)],
                            request: Request) -> Response:
    return await stream_status(request, bo_of(request), token)


# Administration (/api/v1/admin): kiosk/backoffice/admin_routes.py
