"""Offline number blocks: a kiosk reserves numbers ahead, to issue tickets while the
back-office cannot be reached (uploaded later through the offline path of issuing)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import office_day, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine.errors import conflict, invalid
from kiosk.backoffice.engine.issuing import bump, label
from kiosk.backoffice.engine.lookups import ward_of
from kiosk.backoffice.principal import Principal


def reserve_block(bo: Backoffice, principal: Principal, service: str, day: date,
                  size: int, key: str | None = None) -> tuple[dict[str, Any], bool]:
    """Reserve up to `size` numbers of the offline range for this kiosk; returns (block,
    created). Under a key already used by this kiosk the same block comes back (a retry
    whose answer was lost). Near the end of the range the block is shorter; when the range
    is used up: 409 offline_numbers_exhausted."""
    assert principal.ward is not None
    ward = ward_of(bo, principal.ward)
    q = bo.settings.queue
    if service not in bo.catalog.services or service not in ward.services:
        raise invalid("unknown_service", f"ward {ward.code} does not offer {service!r}")
    today = office_day(utcnow(), bo.tz)
    if not today <= day <= today + timedelta(days=q.block_days_ahead):
        raise invalid("validation_error", f"day must be between {today} and "
                      f"{today + timedelta(days=q.block_days_ahead)}")
    if not 1 <= size <= q.max_block_size:
        raise invalid("validation_error", f"size must be 1..{q.max_block_size}")
    digest = hashlib.sha256(f"{ward.code}/{service}/{day}/{size}".encode()).hexdigest()
    b = m.number_blocks
    try:
        with writing(bo.engine) as conn:
            if key is not None:
                row = conn.execute(select(b).where(b.c.device_id == principal.device_id,
                                                   b.c.idempotency_key == key)).first()
                if row is not None:
                    return _block_json(bo, row, digest), False
            last = bump(bo, conn, ward.code, service, day, size, table=m.block_sequences,
                         start=q.offline_first - 1)
            first = last - size + 1
            if first > q.offline_last:  # raising rolls the bump back
                raise conflict("offline_numbers_exhausted",
                               f"the offline numbers of {service} on {day} "
                               f"({q.offline_first}-{q.offline_last}) are all reserved; "
                               "widen [queue] offline_first/offline_last")
            last = min(last, q.offline_last)  # the rest of the range; later ones get 409
            row = conn.execute(insert(b).values(
                device_id=principal.device_id, ward=ward.code, service=service, day=day,
                first=first, last=last, created_at=utcnow(), idempotency_key=key,
                request_hash=digest).returning(b)).one()
    except IntegrityError:  # the same key raced in from another connection
        with reading(bo.engine) as conn:
            row = conn.execute(select(b).where(b.c.device_id == principal.device_id,
                                               b.c.idempotency_key == key)).first()
        if row is None:
            raise
        return _block_json(bo, row, digest), False
    return _block_json(bo, row, digest), True


def _block_json(bo: Backoffice, row: Any, digest: str) -> dict[str, Any]:
    if row.request_hash is not None and row.request_hash != digest:
        raise conflict("idempotency_mismatch", "this Idempotency-Key was already used for a "
                       "different block request; use a new key for a new block")
    prefix = bo.catalog.services[row.service].prefix
    return {"block_id": row.id, "ward": row.ward, "service": row.service, "prefix": prefix,
            "day": row.day.isoformat(), "first": row.first, "last": row.last,
            "numbers": [label(prefix, row.first), label(prefix, row.last)]}
