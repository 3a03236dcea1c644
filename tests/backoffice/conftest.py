"""Helpers for the back-office tests."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.support.backoffice import BackofficeServer

APPLICATION = {"procedure": "juminhyo", "identity": "card",
               "values": {"name": "山田\u3000太郎", "address": "堺市北区１－２",
                          "birth_date": "1980-01-02", "copies": 2}}


def issue(server: BackofficeServer, who: str = "kiosk", key: str | None = None,
          **body: Any) -> requests.Response:
    body.setdefault("service", "certificates")
    return server.session(who).post(server.api("/tickets"), json=body, timeout=10,
                                    headers={"Idempotency-Key": key or uuid.uuid4().hex})


def ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json() if r.content else None


# --- in-process helpers (the real database, no HTTP) -----------------------------------

def make_backoffice(db_url: str, **queue_settings: Any) -> Any:
    """A migrated, seeded Backoffice context for calling kiosk.backoffice.queue directly."""
    from dataclasses import replace

    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.context import Backoffice
    from kiosk.configfile import load_catalog
    from tests.support.backoffice import prepare_database

    prepare_database(db_url)
    settings = load_settings()
    settings = replace(settings, queue=replace(settings.queue, enforce_opening_hours=False,
                                               **queue_settings))
    return Backoffice(db_url, settings, load_catalog())


def admin() -> Any:
    from kiosk.backoffice.auth import Principal

    return Principal("staff", None, username="tester", role="admin")


def kiosk(bo: Any, ward: str = "kita") -> Any:
    from sqlalchemy import select

    from kiosk.backoffice import models as m
    from kiosk.backoffice.auth import Principal
    from kiosk.backoffice.db import reading

    with reading(bo.engine) as conn:
        device_id = conn.execute(select(m.devices.c.id).where(
            m.devices.c.kind == "kiosk", m.devices.c.ward == ward)).scalars().first()
    return Principal("device", ward, device_id=device_id, device_kind="kiosk",
                     device_name=f"kiosk-{ward}-1")


def request(service: str = "certificates", priority: str = "normal", **kw: Any) -> Any:
    from kiosk.backoffice.queue import TicketRequest

    return TicketRequest(ward=kw.pop("ward", "kita"), service=service, procedure=None,
                         application=None, priority=priority, language="ja", **kw)


def new_ticket(bo: Any, service: str = "certificates", priority: str = "normal") -> Any:
    from kiosk.backoffice.queue import issue as issue_ticket

    ticket, _ = issue_ticket(bo, kiosk(bo), request(service, priority), uuid.uuid4().hex, "")
    return ticket


def make_backoffice_no_prepare(db_url: str) -> Any:
    """The context over an already prepared database (another process's view of it)."""
    from dataclasses import replace

    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.context import Backoffice
    from kiosk.configfile import load_catalog

    settings = load_settings()
    settings = replace(settings, queue=replace(settings.queue, enforce_opening_hours=False))
    return Backoffice(db_url, settings, load_catalog())
