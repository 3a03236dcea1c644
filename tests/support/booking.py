"""Bookings (issue #19) made the resident's way, through the public API of a real
back-office (`tests.support.backoffice`), and their QR as the booking page encodes it
(`WARDAPPT:<code>`). `bring_to(...)` sets a booking's slot relative to now in the
server's database: the check-in window and the no-show rule depend on the hour, and a
test cannot wait for it (nor book today: booking closes `cutoff_minutes` before)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

OFFICE_TZ = ZoneInfo("Asia/Tokyo")   # [server] timezone of config/backoffice.toml


def ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()


def book(server: Any, ward: str = "kita", service: str = "certificates",
         contact: str = "booker@example.jp", **what: str) -> str:
    """A booking of the first day with places (`what`: procedure= or life_event=)."""
    base = server.api("/public/appointments")
    days = ok(requests.get(f"{base}/{ward}/{service}/days", timeout=30))["days"]
    day = next(d["day"] for d in days if d["free"] > 0)
    slot = next(s["start"] for s in ok(requests.get(
        f"{base}/{ward}/{service}/slots?day={day}", timeout=30))["slots"] if s["free"])
    held = ok(requests.post(f"{base}/holds", json={"ward": ward, "service": service,
                                                   "slot": slot, **what}, timeout=30), 201)
    return str(ok(requests.post(f"{base}/confirm", json={"code": held["code"],
                                                         "contact": contact},
                                timeout=30))["code"])


def bring_to(server: Any, code: str, minutes_from_now: float) -> None:
    """Move a booking's slot to now + `minutes_from_now` (its office day with it), and
    give its place in the old slot back (as a move would)."""
    from sqlalchemy import select, update

    from kiosk.backoffice import models as m
    from kiosk.backoffice.db import make_engine, writing

    at = datetime.now(UTC) + timedelta(minutes=minutes_from_now)
    engine = make_engine(server.db_url, pool_size=1)
    try:
        with writing(engine) as conn:
            A, S = m.appointments, m.appointment_slots
            row = conn.execute(select(A).where(A.c.code == code)).one()
            conn.execute(update(S).where(S.c.ward == row.ward, S.c.service == row.service,
                                         S.c.slot_at == row.slot_at)
                         .values(taken=S.c.taken - 1))
            conn.execute(update(A).where(A.c.code == code).values(
                slot_at=at.replace(tzinfo=None), day=at.astimezone(OFFICE_TZ).date()))
    finally:
        engine.dispose()


def qr_png(code: str, path: Path) -> Path:
    """The booking's QR as the booking page shows it, as a picture to hold to a scanner."""
    import qrcode
    qrcode.make(f"WARDAPPT:{code}", border=4).save(path)
    return path


def take_place(server: Any, ward: str = "kita", service: str = "certificates",
               ahead: int = 6) -> str:
    """A place in today's queue taken from the phone (`POST /public/remote/take`), behind
    `ahead` walk-ins (the catalog offers places only while the wait is long): its code."""
    for _ in range(ahead):
        ok(server.session("kiosk").post(server.api("/tickets"), timeout=30,
                                        json={"service": service, "language": "ja"},
                                        headers={"Idempotency-Key": uuid.uuid4().hex}), 201)
    place = ok(requests.post(server.api("/public/remote/take"), timeout=30,
                             json={"ward": ward, "service": service}), 201)
    return str(place["code"])
