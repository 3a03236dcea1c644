"""The JSON shapes of a ticket: the full one (staff, the issuing kiosk) and the phone's status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import iso
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import Prepared, reading
from kiosk.backoffice.engine.lookups import service_estimate
from kiosk.backoffice.engine.shown import record_status
from kiosk.backoffice.estimate import Estimate


def ticket_summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "number": row.label, "status": row.status, "priority": row.priority,
            "service": row.service, "counter": row.counter, "recall_count": row.recall_count}


_STAGES = Prepared(select(m.ticket_stages).where(
    m.ticket_stages.c.ticket_id == bindparam("ticket")).order_by(m.ticket_stages.c.seq))


def stages_of(conn: Connection, ticket_id: int) -> list[Any]:
    """A routed visit's stage rows in route order (engine/visits.py)."""
    return _STAGES.all(conn, {"ticket": ticket_id})


# The current stage's state is the ticket's; a held or no-show visit still waits there.
_LIVE_STAGE = {"called": "called", "serving": "serving", "done": "done"}


def route_json(bo: Backoffice, row: Any, stages: list[Any]) -> list[dict[str, Any]]:
    """The route as the contract shows it (seq, service, procedures, status, counter)."""
    out = []
    for s in stages:
        status, counter = s.status, s.counter
        if s.seq == row.stage and s.status not in ("done", "skipped"):
            status, counter = _LIVE_STAGE.get(row.status, "waiting"), row.counter
        out.append({"seq": s.seq, "service": s.service,
                    "service_name": bo.catalog.services[s.service].name,
                    "procedures": list(s.procedures), "status": status, "counter": counter})
    return out


def load_route(bo: Backoffice, row: Any) -> list[dict[str, Any]] | None:
    """The route of ticket `row` (None for a one-queue ticket), read on its own."""
    if getattr(row, "stage", None) is None:
        return None
    with reading(bo.engine) as conn:
        return route_json(bo, row, stages_of(conn, row.id))


def stage_forms(row: Any, stages: list[Any]) -> list[dict[str, Any]]:
    """The applications of the current stage only: what its clerk sees."""
    if not isinstance(row.application, list):
        return []
    here = next((set(s.procedures) for s in stages if s.seq == row.stage), set())
    return [a for a in row.application if a.get("procedure") in here]


def ticket_json(bo: Backoffice, row: Any, ahead: int | None, base_url: str,
                route: list[dict[str, Any]] | None = None,
                served: Estimate | None = None) -> dict[str, Any]:
    """`served`: the estimate already stored for this answer (engine/shown.py), if any."""
    waiting = row.status == "waiting"
    ward = bo.catalog.wards[row.ward]
    wait, span = 0, None
    if waiting and ahead is not None:
        served = served or service_estimate(bo, ward, row.service)
        wait, span = served.wait_seconds(ahead), served.wait_range(ahead)
    base = bo.settings.server.public_url or base_url.rstrip("/")
    return {
        "id": row.id, "number": row.label, "ward": row.ward, "service": row.service,
        "service_name": bo.catalog.services[row.service].name, "procedure": row.procedure,
        "priority": row.priority, "language": row.language, "status": row.status,
        "position": ahead + 1 if waiting and ahead is not None else None,
        "people_ahead": ahead if waiting and ahead is not None else 0,
        "estimated_wait_seconds": wait,
        "estimated_wait_range": list(span) if span else None, "fee_yen": row.fee_yen,
        "payment_status": row.payment_status, "counter": row.counter,
        "recall_count": row.recall_count,
        "status_token": row.status_token, "status_url": f"{base}/status/{row.status_token}",
        "issued_at": iso(row.issued_at, bo.tz), "called_at": iso(row.called_at, bo.tz),
        "started_at": iso(row.started_at, bo.tz), "completed_at": iso(row.completed_at, bo.tz),
        "offline": bool(row.offline),
        "route": route if route is not None else load_route(bo, row),
        "stage": getattr(row, "stage", None),
    }


def status_json(bo: Backoffice, row: Any, ahead: int | None) -> dict[str, Any]:
    ward = bo.catalog.wards[row.ward]
    waiting = row.status == "waiting"
    wait, span = 0, None
    if waiting:
        served = service_estimate(bo, ward, row.service)
        wait, span = served.wait_seconds(ahead or 0), served.wait_range(ahead or 0)
        record_status(bo, row, ahead or 0, served)  # what the phone shows is measured too
    return {
        "number": row.label, "ward": row.ward, "ward_name": ward.name, "service": row.service,
        "service_name": bo.catalog.services[row.service].name, "status": row.status,
        "position": (ahead or 0) + 1 if waiting else None,
        "people_ahead": (ahead or 0) if waiting else 0, "estimated_wait_seconds": wait,
        "estimated_wait_range": list(span) if span else None,
        "counter": row.counter, "issued_at": iso(row.issued_at, bo.tz),
        "called_at": iso(row.called_at, bo.tz), "language": row.language,
        "route": load_route(bo, row), "stage": row.stage, "guide": guide_of(row),
    }


def guide_of(row: Any) -> list[dict[str, Any]] | None:
    """The 手続き案内票 as stored (non-personal: msgids, places, what to bring)."""
    guide = getattr(row, "guide", None)
    return guide if isinstance(guide, list) else None


def purged_info(row: Any, tz: Any) -> dict[str, Any] | None:
    """Said instead of the application once it was purged: when and why (retention.py)."""
    if row.application_purged_at is None:
        return None
    return {"at": iso(row.application_purged_at, tz), "reason": row.application_purge_reason}
