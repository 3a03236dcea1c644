"""Payment terminals of the kiosks and their keys (docs/payment.md, "Terminal proofs").

A terminal signs every answer with its own key (`kiosk.domain.payment.TerminalReceipt`).
An admin registers the terminal against its kiosk here; the back-office keeps the key to
check the answers the kiosk passes on. The kiosk never holds the key, so a kiosk — or
anyone with its token — cannot make up a paid result. No key is shared by two terminals.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine.errors import Invalid, conflict, forbidden, not_found
from kiosk.backoffice.models import devices
from kiosk.backoffice.payments.models import payment_terminals

log = logging.getLogger(__name__)

TERMINAL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
KEY = re.compile(r"^[0-9a-f]{64,128}$")  # 256 to 512 bits, hex


def new_key() -> str:
    return secrets.token_hex(32)


def register(engine: Engine, device_name: str, terminal_id: str, *, by: str,
             ward: str | None, key: str | None = None) -> dict[str, Any]:
    """Bind a terminal and its key to a kiosk of `ward` (None: any ward). Never replaces
    an existing binding: remove it first. The key is in the answer only when generated."""
    if not TERMINAL_ID.match(terminal_id):
        raise Invalid("validation_error",
                      "terminal_id: 1-64 characters A-Z a-z 0-9 _ . -")
    given = key is not None
    key = (key or new_key()).strip().lower()
    if not KEY.match(key):
        raise Invalid("validation_error", "key: 64-128 hex digits (256-512 bits)")
    try:
        with writing(engine) as conn:
            device = conn.execute(select(devices.c.id, devices.c.kind, devices.c.ward,
                                         devices.c.active)
                                  .where(devices.c.name == device_name)).first()
            if device is None:
                raise not_found(f"device {device_name!r}")
            if ward is not None and device.ward != ward:
                raise forbidden(f"device {device_name!r} belongs to another ward")
            if device.kind != "kiosk" or not device.active:
                raise conflict("not_a_kiosk", f"device {device_name!r} is not an active kiosk")
            taken = conn.execute(select(payment_terminals.c.terminal_id).where(
                (payment_terminals.c.terminal_id == terminal_id)
                | (payment_terminals.c.device_id == device.id))).first()
            if taken is not None:
                raise conflict("exists", f"terminal {taken.terminal_id!r} is registered "
                               f"(terminal ids and kiosks take one each); remove it first")
            conn.execute(insert(payment_terminals).values(
                terminal_id=terminal_id, device_id=device.id, ward=device.ward, key=key,
                created_at=utcnow(), created_by=by))
    except IntegrityError:
        raise conflict("exists", f"terminal {terminal_id!r} or device {device_name!r} "
                       "is registered already") from None
    log.info("payment terminal %s registered for %s by %s", terminal_id, device_name, by)
    out: dict[str, Any] = {"terminal_id": terminal_id, "device": device_name,
                           "device_id": device.id, "ward": device.ward}
    if not given:
        out["key"] = key  # shown once: load it into the terminal
    return out


def listing(engine: Engine, ward: str | None) -> list[dict[str, Any]]:
    query = (select(payment_terminals.c.terminal_id, devices.c.name.label("device"),
                    payment_terminals.c.device_id, payment_terminals.c.ward,
                    payment_terminals.c.created_at, payment_terminals.c.created_by)
             .join(devices, devices.c.id == payment_terminals.c.device_id)
             .order_by(payment_terminals.c.terminal_id))
    if ward is not None:
        query = query.where(payment_terminals.c.ward == ward)
    with reading(engine) as conn:
        rows = conn.execute(query).mappings().all()
    return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]


def remove(engine: Engine, terminal_id: str, *, by: str, ward: str | None) -> None:
    with writing(engine) as conn:
        row = conn.execute(select(payment_terminals.c.ward).where(
            payment_terminals.c.terminal_id == terminal_id)).first()
        if row is None:
            raise not_found(f"terminal {terminal_id!r}")
        if ward is not None and row.ward != ward:
            raise forbidden(f"terminal {terminal_id!r} belongs to another ward")
        conn.execute(delete(payment_terminals).where(
            payment_terminals.c.terminal_id == terminal_id))
    log.info("payment terminal %s removed by %s", terminal_id, by)


def of_device(conn: Connection, device_id: int | None) -> Any:
    """The kiosk's terminal (terminal_id, key), or None."""
    if device_id is None:
        return None
    return conn.execute(select(payment_terminals.c.terminal_id, payment_terminals.c.key)
                        .where(payment_terminals.c.device_id == device_id)).first()
