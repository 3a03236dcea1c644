"""The HTTP API (/api/v1): the routes of each resource (`kiosk/backoffice/routes/`),
assembled into one router. Every route names who may call it through its dependency
(`kiosk/backoffice/deps.py`).

Contract: docs/api.md. Routes are thin: validation by pydantic, work in kiosk.backoffice.engine.
"""

from __future__ import annotations

from fastapi import APIRouter

from kiosk.backoffice.routes import (
    admin,
    announcements,
    appointments,
    auth,
    catalog,
    catalog_admin,
    congestion,
    counter,
    devices,
    enrol,
    events,
    floor,
    health,
    notify,
    phone,
    releases,
    remote,
    tickets,
    visits,
    wards,
)

router = APIRouter(prefix="/api/v1")
for _part in (auth, catalog, devices, wards, tickets, visits, counter, events, phone,
              announcements, admin, catalog_admin, health, enrol, floor, congestion,
              appointments, remote, notify, releases):
    router.include_router(_part.router)
