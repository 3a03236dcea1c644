"""Device health: what the supervisor sees of each kiosk, display and terminal of a ward.

A device's heartbeat (routes/devices.py) carries its status and components (printer, card
reader, payment terminal, disk) as words; this module turns the latest into *problems*
("printer:paper_out", "stale", …) — any problem raises the supervisor page's alarm — and
keeps a history row whenever a device's problems or status change, for [devices]
history_days. Nothing here is personal: a heartbeat refuses a 個人番号 and carries counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import iso, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.fleet import ward_target

# Component words that mean "fine"; any other word of these components is a problem.
FINE = frozenset({"ok", "present", "idle", "none"})
STATE_COMPONENTS = ("printer", "card_reader", "payment_terminal", "display")
DISK_LOW_MB = 500        # the outbox and logs need room; below this the kiosk is at risk
OUTBOX_BACKLOG = 50      # unsent messages: the link to the back-office is not keeping up


def problems_of(status: str | None, heartbeat: dict[str, Any] | None) -> list[str]:
    """What is wrong according to a device's last report (not counting its age)."""
    hb = heartbeat or {}
    found: list[str] = []
    if status == "error":
        found.append("status:error")
    components = hb.get("components") or {}
    for name in STATE_COMPONENTS:
        word = components.get(name)
        if word is not None and word not in FINE:
            found.append(f"{name}:{word}")
    disk = components.get("disk_free_mb")
    if isinstance(disk, str) and disk.isdigit() and int(disk) < DISK_LOW_MB:
        found.append("disk:low")
    update = hb.get("update") or {}
    if update.get("state") in ("failed", "rolled-back"):
        found.append(f"update:{update['state'].replace('-', '_')}")
    found += [f"terminal_error:{code}" for code in hb.get("errors") or []]
    pending = hb.get("outbox_pending")
    if isinstance(pending, int) and pending >= OUTBOX_BACKLOG:
        found.append("outbox:backlog")
    return found


def _number(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def device_view(bo: Backoffice, row: Any, now: datetime) -> dict[str, Any]:
    """One device as the supervisor page shows it."""
    hb = row.heartbeat or {}
    age = None if row.last_seen is None else max(0, int((now - row.last_seen).total_seconds()))
    problems: list[str] = []
    if row.active:
        problems = problems_of(row.status, hb)
        if age is None:
            problems.append("never_seen")
        elif age > bo.settings.devices.stale_seconds:
            problems.append("stale")
    components = hb.get("components") or {}
    return {
        "id": row.id, "name": row.name, "kind": row.kind, "ward": row.ward,
        "active": row.active, "status": row.status,
        "last_seen": iso(row.last_seen, bo.tz), "age_seconds": age,
        "version": (hb.get("update") or {}).get("version") or hb.get("version"),
        "update": hb.get("update"), "outbox_pending": hb.get("outbox_pending"),
        "uptime_seconds": hb.get("uptime_seconds"), "last_sync": hb.get("last_sync"),
        "disk_free_mb": _number(components.get("disk_free_mb")),
        "components": {k: v for k, v in components.items() if k in STATE_COMPONENTS},
        "last_transaction_at": hb.get("last_transaction_at"),
        "problems": problems, "alarm": bool(problems),
    }


def ward_devices(bo: Backoffice, ward: str) -> dict[str, Any]:
    """Every device of a ward with its state and whether it raises the alarm."""
    d = m.devices
    with reading(bo.engine) as conn:
        rows = conn.execute(select(d).where(d.c.ward == ward)
                            .order_by(d.c.kind, d.c.name)).all()
    now = utcnow()
    devices = [device_view(bo, r, now) for r in rows]
    return {"ward": ward, "server_time": iso(now, bo.tz), "release": ward_target(bo, ward),
            "stale_seconds": bo.settings.devices.stale_seconds,
            "alarm": any(x["alarm"] for x in devices), "devices": devices}


def record(bo: Backoffice, conn: Connection, device: Any, status: str,
           heartbeat: dict[str, Any], now: datetime) -> bool:
    """Keep a history row when the device's status or problems changed since its last
    report (in the heartbeat's transaction); delete its rows past [devices] history_days.
    `device` is its row before this heartbeat. True when a row was written."""
    before = (device.status, problems_of(device.status, device.heartbeat))
    after = (status, problems_of(status, heartbeat))
    r = m.device_reports
    conn.execute(delete(r).where(r.c.device_id == device.id, r.c.at < now - timedelta(
        days=bo.settings.devices.history_days)))
    if device.last_seen is not None and before == after:
        return False
    conn.execute(insert(r).values(device_id=device.id, ward=device.ward, at=now,
                                  status=status, problems=after[1], report=heartbeat))
    return True


def prune(bo: Backoffice) -> int:
    """Delete every device's history past [devices] history_days (the server's purge loop;
    a reporting device's own rows also go at its heartbeat). Returns how many."""
    r = m.device_reports
    cutoff = utcnow() - timedelta(days=bo.settings.devices.history_days)
    with writing(bo.engine) as conn:
        return int(conn.execute(delete(r).where(r.c.at < cutoff)).rowcount or 0)


def history(bo: Backoffice, device_id: int, limit: int) -> list[dict[str, Any]]:
    r = m.device_reports
    with reading(bo.engine) as conn:
        rows = conn.execute(select(r).where(r.c.device_id == device_id)
                            .order_by(r.c.id.desc()).limit(limit)).all()
    return [{"at": iso(x.at, bo.tz), "status": x.status, "problems": list(x.problems),
             "version": (x.report or {}).get("version")} for x in rows]
