"""Catalog sync, accounts, device tokens and the demo seed. No default passwords anywhere:
passwords are given by an admin or generated at random and shown once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select, update

from kiosk.backoffice import models as m
from kiosk.backoffice.auth import (
    DEVICE_KINDS,
    ROLES,
    generate_password,
    hash_password,
    hash_token,
    new_token,
)
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import writing
from kiosk.domain.catalog import Catalog


def sync_catalog(engine: Engine, catalog: Catalog) -> None:
    """Mirror the catalog's wards, services and counters into the database (keeps state)."""
    with writing(engine) as conn:
        have = {r.code for r in conn.execute(select(m.services.c.code))}
        for s in catalog.services.values():
            values: dict[str, Any] = {"prefix": s.prefix, "name": s.name}
            if s.code in have:
                conn.execute(update(m.services).where(m.services.c.code == s.code).values(**values))
            else:
                conn.execute(insert(m.services).values(code=s.code, **values))
        wards = {r.code for r in conn.execute(select(m.wards.c.code))}
        for w in catalog.wards.values():
            if w.code in wards:
                conn.execute(update(m.wards).where(m.wards.c.code == w.code).values(name=w.name))
            else:
                conn.execute(insert(m.wards).values(code=w.code, name=w.name, state="auto"))
            counters = {r.number for r in conn.execute(
                select(m.counters.c.number).where(m.counters.c.ward == w.code))}
            for c in w.counters:
                counter: dict[str, Any] = {"name": c.name, "services": list(c.services)}
                if c.number in counters:
                    conn.execute(update(m.counters).where(
                        m.counters.c.ward == w.code, m.counters.c.number == c.number
                    ).values(**counter))
                else:
                    conn.execute(insert(m.counters).values(ward=w.code, number=c.number,
                                                           is_open=False, **counter))


def create_staff(engine: Engine, username: str, role: str, ward: str | None,
                 password: str | None = None) -> str:
    """Create (or reset) a staff account; returns the password (generated when not given)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if password is not None and len(password) < 12:
        raise ValueError("a password needs at least 12 characters")
    password = password or generate_password()
    values = {"password_hash": hash_password(password), "role": role, "ward": ward,
              "active": True}
    with writing(engine) as conn:
        exists = conn.execute(select(m.staff.c.id).where(m.staff.c.username == username)).first()
        if exists:
            conn.execute(update(m.staff).where(m.staff.c.id == exists.id).values(**values))
        else:
            conn.execute(insert(m.staff).values(username=username, created_at=utcnow(),
                                                **values))
    return password


def create_device(engine: Engine, name: str, kind: str, ward: str) -> tuple[int, str]:
    """Provision (or re-key) a device; returns (id, token). The token is shown once."""
    if kind not in DEVICE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(DEVICE_KINDS)}")
    token = new_token("dv_")
    with writing(engine) as conn:
        exists = conn.execute(select(m.devices.c.id).where(m.devices.c.name == name)).first()
        values = {"kind": kind, "ward": ward, "token_hash": hash_token(token), "active": True}
        if exists:
            conn.execute(update(m.devices).where(m.devices.c.id == exists.id).values(**values))
            return int(exists.id), token
        device_id = conn.execute(insert(m.devices).values(
            name=name, created_at=utcnow(), **values).returning(m.devices.c.id)).scalar_one()
    return int(device_id), token


def seed_demo(engine: Engine, catalog: Catalog,
              passwords: dict[str, str] | None = None) -> dict[str, Any]:
    """Demo accounts (staff bound to the first ward, supervisor, admin) and one kiosk and
    one display per ward, with fresh random secrets. Returns them for printing."""
    sync_catalog(engine, catalog)
    first_ward = next(iter(catalog.wards))
    passwords = passwords or {}
    accounts = []
    for username, role, ward in (("staff", "staff", first_ward),
                                 ("supervisor", "supervisor", None), ("admin", "admin", None)):
        pw = create_staff(engine, username, role, ward, passwords.get(username))
        accounts.append({"username": username, "role": role, "ward": ward, "password": pw})
    devices = []
    for code in catalog.wards:
        for kind in DEVICE_KINDS:
            name = f"{kind}-{code}-1"
            device_id, token = create_device(engine, name, kind, code)
            devices.append({"id": device_id, "name": name, "kind": kind, "ward": code,
                            "token": token})
    return {"accounts": accounts, "devices": devices}
