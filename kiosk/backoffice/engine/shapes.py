"""The JSON shapes of a ticket: the full one (staff, the issuing kiosk) and the phone's status."""

from __future__ import annotations

from typing import Any

from kiosk.backoffice.clock import iso
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.engine.lookups import service_estimate


def ticket_summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "number": row.label, "status": row.status, "priority": row.priority,
            "service": row.service, "counter": row.counter, "recall_count": row.recall_count}


def ticket_json(bo: Backoffice, row: Any, ahead: int | None, base_url: str) -> dict[str, Any]:
    waiting = row.status == "waiting"
    ward = bo.catalog.wards[row.ward]
    wait = (service_estimate(bo, ward, row.service).wait_seconds(ahead)
            if waiting and ahead is not None else 0)
    base = bo.settings.server.public_url or base_url.rstrip("/")
    return {
        "id": row.id, "number": row.label, "ward": row.ward, "service": row.service,
        "service_name": bo.catalog.services[row.service].name, "procedure": row.procedure,
        "priority": row.priority, "language": row.language, "status": row.status,
        "position": ahead + 1 if waiting and ahead is not None else None,
        "people_ahead": ahead if waiting and ahead is not None else 0,
        "estimated_wait_seconds": wait, "fee_yen": row.fee_yen,
        "payment_status": row.payment_status, "counter": row.counter,
        "recall_count": row.recall_count,
        "status_token": row.status_token, "status_url": f"{base}/status/{row.status_token}",
        "issued_at": iso(row.issued_at, bo.tz), "called_at": iso(row.called_at, bo.tz),
        "started_at": iso(row.started_at, bo.tz), "completed_at": iso(row.completed_at, bo.tz),
        "offline": bool(row.offline),
    }


def status_json(bo: Backoffice, row: Any, ahead: int | None) -> dict[str, Any]:
    ward = bo.catalog.wards[row.ward]
    waiting = row.status == "waiting"
    wait = service_estimate(bo, ward, row.service).wait_seconds(ahead or 0) if waiting else 0
    return {
        "number": row.label, "ward": row.ward, "ward_name": ward.name, "service": row.service,
        "service_name": bo.catalog.services[row.service].name, "status": row.status,
        "position": (ahead or 0) + 1 if waiting else None,
        "people_ahead": (ahead or 0) if waiting else 0, "estimated_wait_seconds": wait,
        "counter": row.counter, "issued_at": iso(row.issued_at, bo.tz),
        "called_at": iso(row.called_at, bo.tz), "language": row.language,
    }


def purged_info(row: Any, tz: Any) -> dict[str, Any] | None:
    """Said instead of the application once it was purged: when and why (retention.py)."""
    if row.application_purged_at is None:
        return None
    return {"at": iso(row.application_purged_at, tz), "reason": row.application_purge_reason}
