"""One-time enrolment codes: an admin makes one for a device (GET it into the kiosk's
provisioning file, `[backoffice] enrolment_code`); the kiosk trades it once, at its first
boot, for a device token of its own (`POST /api/v1/device/enrol`). The code is 128 random
bits (nothing to guess), valid for `hours`, kept only as its hash, and spent by the first
trade; the trade re-keys the device through the accounts engine (seed.rotate_device_token),
so the audit trail has it and any earlier token stops working.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine

from kiosk.backoffice import models as m
from kiosk.backoffice import seed
from kiosk.backoffice.auth import hash_token, new_token
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import writing

PREFIX = "en_"


class CodeRefused(Exception):
    """Unknown, spent or expired: one answer for all three (no oracle)."""


def issue(engine: Engine, device_id: int, hours: int, actor: seed.Actor,
          check: seed.Check) -> tuple[str, str, datetime]:
    """A new code for the device; returns (the device's name, the code, when it expires)."""
    code = new_token(PREFIX)[:len(PREFIX) + 22]       # 22 base64 characters: 132 bits
    now = utcnow()
    expires = now + timedelta(hours=hours)
    with writing(engine) as conn:
        row = seed._device_row(conn, device_id, check)
        conn.execute(insert(m.enrolment_codes).values(
            code_hash=hash_token(code), device_id=row.id, created_at=now, expires_at=expires))
        seed.record(conn, actor, "device.enrolment_code", "device", row.name, row.ward)
    return str(row.name), code, expires


def redeem(engine: Engine, code: str, address: str | None) -> tuple[object, str, str]:
    """Spend a code: (the device row, its new token, the old token's key)."""
    e = m.enrolment_codes
    now = utcnow()
    with writing(engine) as conn:
        spent = conn.execute(update(e).where(
            e.c.code_hash == hash_token(code), e.c.used_at.is_(None), e.c.expires_at > now,
        ).values(used_at=now).returning(e.c.device_id)).first()
    if spent is None:
        raise CodeRefused
    return seed.rotate_device_token(engine, int(spent.device_id),
                                    seed.Actor("enrolment", address))
