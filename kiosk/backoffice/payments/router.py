"""The payment API under /api/v1 (docs/payment.md, "API").

Included by the back-office app factory with one line:
``app.include_router(kiosk.backoffice.payments.router.router, prefix="/api/v1")``.
Settings come from `[payment]` of config/backoffice.toml (the back-office's settings);
the provider API key and webhook secret from the environment variables it names.
"""

from __future__ import annotations

import csv
import io
import threading
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from kiosk.backoffice.auth import Principal, require_any, require_device, require_staff
from kiosk.backoffice.engine.errors import EngineError, Invalid
from kiosk.backoffice.errors import ApiError, to_http
from kiosk.backoffice.payments import providers, terminals
from kiosk.backoffice.payments import schemas as P
from kiosk.backoffice.payments.service import Actor, PaymentService
from kiosk.backoffice.privacy import refuse_my_number

router = APIRouter(tags=["payments"])
_lock = threading.Lock()

kiosk_or_staff = require_any(role="staff", devices=("kiosk",))
staff = require_staff("staff")
supervisor = require_staff("supervisor")
admin = require_staff("admin")
KioskOrStaff = Annotated[Principal, Depends(kiosk_or_staff)]
Kiosk = Annotated[Principal, Depends(require_device("kiosk"))]
Admin = Annotated[Principal, Depends(admin)]
Id = Annotated[int, Path(ge=1, le=2**62)]
Staff = Annotated[Principal, Depends(staff)]
Supervisor = Annotated[Principal, Depends(supervisor)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an amount sent by a client is refused


class StartIn(Strict):
    method: Literal["code", "terminal", "counter"]


class TerminalResultIn(Strict):
    """The terminal's answer as the kiosk got it, with the terminal's proof untouched."""
    state: Literal["paid", "failed", "canceled", "pending"]
    amount_yen: int = Field(0, ge=0, le=10**9)
    transaction_id: str = Field("", max_length=64)
    timestamp: str = Field("", max_length=64)
    error: str = Field("", max_length=200)
    terminal_id: str = Field("", max_length=64)      # nexo POIID
    mac: str = Field("", max_length=128)             # HMAC-SHA256, hex (SecurityTrailer)


class TerminalIn(Strict):
    device: str = Field(min_length=2, max_length=64)  # the kiosk's device name
    terminal_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    key: str | None = Field(None, min_length=64, max_length=128)  # hex; None: generate


class CounterIn(Strict):
    reference: str = Field("", max_length=64)


def service(request: Request) -> PaymentService:
    """One PaymentService per app, built on first use from the back-office context."""
    state = request.app.state
    found: PaymentService | None = getattr(state, "payments", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(state, "payments", None)
        if found is None:
            bo = state.backoffice
            cfg = bo.settings.payment
            found = PaymentService(bo.engine, cfg, providers.from_settings(cfg), bo.tz, bo)
            state.payments = found
    return found


def actor(p: Principal) -> Actor:
    if p.kind == "staff":
        return Actor("staff", p.username or "", p.ward, principal=p)
    return Actor("kiosk", p.device_name or f"device-{p.device_id}", p.ward,
                 device_id=p.device_id, principal=p)


@router.post("/tickets/{ticket_id}/payments", status_code=201, response_model=P.Payment)
async def start_payment(ticket_id: Id, body: StartIn, request: Request,
                        who: KioskOrStaff) -> Any:
    """Start a payment attempt for a ticket; the amount is the ticket's fee."""
    return await _run(service(request).start, ticket_id, body.method, actor(who),
                      str(request.base_url))


@router.get("/tickets/{ticket_id}/payments", response_model=P.TicketPayments)
async def ticket_payments(ticket_id: Id, request: Request,
                          who: KioskOrStaff) -> Any:
    return await _run(service(request).for_ticket, ticket_id, actor(who))


class JournalIn(Strict):
    """The terminal's daily journal as the terminal (or its acquirer portal) exports it."""
    poi_id: str = Field("", max_length=64)
    transactions: list[dict[str, Any]] = Field(max_length=20000)


Day = Annotated[str | None, Query(max_length=10)]
Ward = Annotated[str | None, Query(max_length=32)]
Format = Literal["json", "csv"]
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}  # format=csv


@router.get("/payments/reconciliation", response_model=P.Reconciliation,
            response_model_exclude_unset=True, responses=CSV)
async def reconciliation(request: Request, who: Supervisor, day: Day = None,
                         ward: Ward = None, format: Format = "json") -> Any:
    return await _report(request, who, day, ward, format, None)


@router.post("/payments/reconciliation/terminal-journal", response_model=P.Reconciliation,
             response_model_exclude_unset=True, responses=CSV)
async def reconciliation_with_journal(body: JournalIn, request: Request, who: Supervisor,
                                      day: Day = None, ward: Ward = None,
                                      format: Format = "json") -> Any:
    """The day's report, with terminal payments compared against the uploaded journal."""
    return await _report(request, who, day, ward, format, body.transactions)


async def _report(request: Request, who: Principal, day: str | None, ward: str | None,
                  format: Format, journal: list[dict[str, Any]] | None) -> Any:
    svc = service(request)
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise Invalid("validation_error", "day must be YYYY-MM-DD") from None
    if when is None:
        from datetime import datetime
        when = datetime.now(svc.tz).date()
    if ward is not None:
        who.check_ward(ward)
    elif who.ward is not None:
        ward = who.ward
    report = await _run(partial(svc.reconciliation, journal=journal), when, ward)
    if format != "csv" or not isinstance(report, dict):  # an error answer stays JSON
        return report
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "ward", "procedure", "method", "count", "amount_yen"])
    for row in report["rows"]:
        writer.writerow([report["date"], ward or "", row["procedure"], row["method"],
                         row["count"], row["amount_yen"]])
    writer.writerow([])
    writer.writerow(["mismatch", "reference", "problem"])
    for m in report["mismatches"]:
        writer.writerow(["mismatch", m["reference"], m["problem"]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


@router.post("/payments/webhook", response_model=P.WebhookAck)
async def webhook(request: Request) -> Any:
    body = await request.body()
    peer = request.client.host if request.client else ""
    return await _run(service(request).webhook, request.headers, body,  # case-insensitive
                      peer)


@router.get("/payments/{payment_id}", response_model=P.Payment)
async def get_payment(payment_id: Id, request: Request,
                      who: KioskOrStaff) -> Any:
    return await _run(service(request).get, payment_id, actor(who))


@router.get("/payments/{payment_id}/events", response_model=list[P.PaymentEvent])
async def payment_events(payment_id: Id, request: Request,
                         who: Staff) -> Any:
    return await _run(service(request).events, payment_id, actor(who))


@router.post("/payments/{payment_id}/cancel", response_model=P.Payment)
async def cancel_payment(payment_id: Id, request: Request,
                         who: KioskOrStaff) -> Any:
    return await _run(service(request).cancel, payment_id, actor(who))


@router.post("/payments/{payment_id}/terminal-result", response_model=P.Payment)
async def terminal_result(payment_id: Id, body: TerminalResultIn, request: Request,
                          who: Kiosk) -> Any:
    """Only the kiosk that started the payment; "paid" only with the terminal's proof."""
    refuse_my_number(body.error, "error")  # stored in the payment's trail
    return await _run(service(request).terminal_result, payment_id, body.model_dump(),
                      actor(who))


@router.post("/payments/{payment_id}/paid-at-counter", response_model=P.Payment)
async def paid_at_counter(payment_id: Id, body: CounterIn, request: Request,
                          who: Staff) -> Any:
    refuse_my_number(body.reference, "reference")
    return await _run(service(request).paid_at_counter, payment_id, body.reference,
                      actor(who))


@router.post("/tickets/{ticket_id}/paid-at-counter", response_model=P.Payment)
async def ticket_paid_at_counter(ticket_id: Id, body: CounterIn, request: Request,
                                 who: Staff) -> Any:
    """The console's button: staff of the ticket's ward took the fee at the counter."""
    refuse_my_number(body.reference, "reference")
    return await _run(service(request).settle_at_counter, ticket_id, body.reference,
                      actor(who))


@router.post("/admin/payment-terminals", status_code=201, response_model=P.TerminalMade,
             response_model_exclude_unset=True)
async def register_terminal(body: TerminalIn, request: Request, who: Admin) -> Any:
    """Bind a payment terminal and its key to a kiosk (the key is shown once)."""
    return await _run(partial(terminals.register, by=who.username or "", ward=who.ward,
                              key=body.key), service(request).engine, body.device,
                      body.terminal_id)


@router.get("/admin/payment-terminals", response_model=list[P.TerminalListed])
async def list_terminals(request: Request, who: Admin) -> Any:
    return await _run(terminals.listing, service(request).engine, who.ward)


@router.delete("/admin/payment-terminals/{terminal_id}", status_code=204,
               response_class=Response)
async def remove_terminal(request: Request, who: Admin,
                          terminal_id: Annotated[str, Path(max_length=64)]) -> Response:
    result = await _run(partial(terminals.remove, by=who.username or "", ward=who.ward),
                        service(request).engine, terminal_id)
    return result if isinstance(result, Response) else Response(status_code=204)


async def _run(fn: Any, *args: Any) -> Any:
    """Database and provider calls block: run them off the event loop."""
    from starlette.concurrency import run_in_threadpool

    try:
        return await run_in_threadpool(fn, *args)
    except (ApiError, EngineError) as exc:
        error = to_http(exc)
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
