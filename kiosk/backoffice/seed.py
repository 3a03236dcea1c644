"""Catalog sync, accounts, device tokens and the demo seed. No default passwords anywhere:
passwords are given by an admin or generated at random and shown once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from kiosk.backoffice import models as m
from kiosk.backoffice.auth import (
    DEVICE_KINDS,
    ROLES,
    end_sessions,
    generate_password,
    hash_password,
    hash_token,
    new_token,
)
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import writing
from kiosk.backoffice.principal import ENROLLED_KINDS
from kiosk.domain.catalog import Catalog


def sync_catalog(engine: Engine, catalog: Catalog) -> None:
    """Mirror the catalog's wards, services and counters into the database (keeps state)."""
    with writing(engine) as conn:
        sync_catalog_in(conn, catalog)


class CounterBusy(ValueError):
    """A counter the new catalog removes has a ticket called or being served there."""

    def __init__(self, busy: dict[str, list[int]]) -> None:
        self.busy = busy
        where = "; ".join(f"{ward}: {', '.join(map(str, ns))}" for ward, ns in busy.items())
        super().__init__(f"a counter being removed is serving a ticket ({where}): finish or "
                         "move that ticket first, then remove the counter")


def _removed_counters(conn: Connection, ward: str, keep: set[int]
                      ) -> tuple[list[int], list[int]]:
    """The counter rows of `ward` the catalog no longer has: (idle, busy) — busy when a
    ticket is called to it or served there."""
    gone = sorted(set(conn.execute(select(m.counters.c.number).where(
        m.counters.c.ward == ward)).scalars()) - keep)
    if not gone:
        return [], []
    busy = set(conn.execute(select(m.tickets.c.counter).where(
        m.tickets.c.ward == ward, m.tickets.c.counter.in_(gone),
        m.tickets.c.status.in_(("called", "serving")))).scalars())
    return [n for n in gone if n not in busy], sorted(busy)


def sync_catalog_in(conn: Connection, catalog: Catalog, refuse_busy: bool = False) -> None:
    """`sync_catalog` inside the caller's transaction (a new catalog version's). A counter
    the catalog no longer has leaves the counters table; one with a ticket called or being
    served there is either refused (`refuse_busy`: CounterBusy, an admin's change) or
    closed for new calls and left until a later sync finds it idle (a server start)."""
    for w in catalog.wards.values():
        idle, busy = _removed_counters(conn, w.code, {c.number for c in w.counters})
        if busy and refuse_busy:
            raise CounterBusy({w.code: busy})
        if idle:
            conn.execute(delete(m.counters).where(m.counters.c.ward == w.code,
                                                  m.counters.c.number.in_(idle)))
        if busy:
            conn.execute(update(m.counters).where(
                m.counters.c.ward == w.code, m.counters.c.number.in_(busy)
            ).values(is_open=False))
    rows = {r.code: r.prefix for r in conn.execute(select(m.services.c.code,
                                                           m.services.c.prefix))}
    # a service the catalog no longer has keeps its row (its tickets' history) until a
    # new service takes its letter (one letter, one row)
    wanted = {s.prefix for s in catalog.services.values()}
    gone = [code for code, prefix in rows.items()
            if code not in catalog.services and prefix in wanted]
    if gone:
        conn.execute(delete(m.services).where(m.services.c.code.in_(gone)))
    have = set(rows) - set(gone)
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


class AlreadyExists(ValueError):
    """Creating never overwrites: the name is taken (reset or rotate it instead)."""


class NoSuchAccount(LookupError):
    pass


# Checks the target row inside the transaction that changes it (raises to refuse).
Check = Callable[[Any], None]


@dataclass(frozen=True)
class Actor:
    """Who does it, for the audit trail: a staff username, or None for the command line."""
    username: str | None = None
    address: str | None = None


COMMAND_LINE = Actor()


def record(conn: Connection, actor: Actor, action: str, target_kind: str, target: str,
           ward: str | None) -> None:
    conn.execute(insert(m.account_events).values(
        at=utcnow(), action=action, actor=actor.username, target_kind=target_kind,
        target=target, ward=ward, address=(actor.address or None) and actor.address[:64]))


def _password(password: str | None) -> str:
    if password is not None and len(password) < 12:
        raise ValueError("a password needs at least 12 characters")
    return password or generate_password()


def create_staff(engine: Engine, username: str, role: str, ward: str | None,
                 password: str | None = None, actor: Actor = COMMAND_LINE) -> str:
    """Create a staff account; returns the password (generated when not given).
    An existing username raises AlreadyExists: see `reset_password`."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    password = _password(password)
    taken = AlreadyExists(f"a staff account {username!r} exists already")
    try:
        with writing(engine) as conn:
            if conn.execute(select(m.staff.c.id).where(m.staff.c.username == username)).first():
                raise taken
            conn.execute(insert(m.staff).values(
                username=username, password_hash=hash_password(password), role=role,
                ward=ward, active=True, created_at=utcnow()))
            record(conn, actor, "staff.created", "staff", username, ward)
    except IntegrityError:  # created meanwhile by another caller
        raise taken from None
    return password


def _staff_row(conn: Connection, username: str, check: Check | None) -> Any:
    row = conn.execute(select(m.staff).where(m.staff.c.username == username)).first()
    if row is None:
        raise NoSuchAccount(f"staff account {username!r}")
    if check is not None:
        check(row)
    return row


def reset_password(engine: Engine, username: str, password: str | None = None,
                   actor: Actor = COMMAND_LINE, check: Check | None = None,
                   keep: str | None = None) -> tuple[str, list[str]]:
    """A new password for an account; its sessions end (but `keep`, the session of an
    admin resetting its own password). Returns the password (generated when not given)
    and the ended sessions' keys (for the token cache)."""
    password = _password(password)
    with writing(engine) as conn:
        row = _staff_row(conn, username, check)
        conn.execute(update(m.staff).where(m.staff.c.id == row.id)
                     .values(password_hash=hash_password(password)))
        ended = end_sessions(conn, row.id, keep)
        record(conn, actor, "staff.password_reset", "staff", username, row.ward)
    return password, ended


def set_staff_active(engine: Engine, username: str, active: bool,
                     actor: Actor = COMMAND_LINE, check: Check | None = None) -> list[str]:
    """Enable or disable an account; disabling ends its sessions (their keys returned)."""
    with writing(engine) as conn:
        row = _staff_row(conn, username, check)
        conn.execute(update(m.staff).where(m.staff.c.id == row.id).values(active=active))
        ended = [] if active else end_sessions(conn, row.id)
        record(conn, actor, "staff.enabled" if active else "staff.disabled", "staff",
               username, row.ward)
    return ended


def create_device(engine: Engine, name: str, kind: str, ward: str,
                  actor: Actor = COMMAND_LINE) -> tuple[int, str]:
    """Provision a device; returns (id, token). The token is shown once. An existing name
    raises AlreadyExists: see `rotate_device_token`."""
    if kind not in ENROLLED_KINDS:
        raise ValueError(f"kind must be one of {', '.join(ENROLLED_KINDS)}")
    token = new_token("dv_")
    taken = AlreadyExists(f"a device {name!r} exists already")
    try:
        with writing(engine) as conn:
            if conn.execute(select(m.devices.c.id).where(m.devices.c.name == name)).first():
                raise taken
            device_id = conn.execute(insert(m.devices).values(
                name=name, kind=kind, ward=ward, token_hash=hash_token(token), active=True,
                created_at=utcnow()).returning(m.devices.c.id)).scalar_one()
            record(conn, actor, "device.created", "device", name, ward)
    except IntegrityError:  # created meanwhile by another caller
        raise taken from None
    return int(device_id), token


def _device_row(conn: Connection, device: int | str, check: Check | None) -> Any:
    d = m.devices
    row = conn.execute(select(d).where(
        d.c.id == device if isinstance(device, int) else d.c.name == device)).first()
    if row is None:
        raise NoSuchAccount(f"device {device}")
    if check is not None:
        check(row)
    return row


def rotate_device_token(engine: Engine, device: int | str, actor: Actor = COMMAND_LINE,
                        check: Check | None = None) -> tuple[Any, str, str]:
    """A new token for a device (by id or name), active again; the old token stops working.
    Returns (the device row, the new token, the old token's key)."""
    token = new_token("dv_")
    with writing(engine) as conn:
        row = _device_row(conn, device, check)
        conn.execute(update(m.devices).where(m.devices.c.id == row.id)
                     .values(token_hash=hash_token(token), active=True))
        record(conn, actor, "device.token_rotated", "device", row.name, row.ward)
    return row, token, row.token_hash


def revoke_device(engine: Engine, device: int | str, actor: Actor = COMMAND_LINE,
                  check: Check | None = None) -> str:
    """Revoke a device's token; returns its key (for the token cache)."""
    with writing(engine) as conn:
        row = _device_row(conn, device, check)
        conn.execute(update(m.devices).where(m.devices.c.id == row.id).values(active=False))
        record(conn, actor, "device.revoked", "device", row.name, row.ward)
    return str(row.token_hash)


def seed_demo(engine: Engine, catalog: Catalog,
              passwords: dict[str, str] | None = None) -> dict[str, Any]:
    """Demo accounts (staff bound to the first ward, supervisor, admin) and one kiosk and
    one display per ward, with fresh random secrets. Returns them for printing. Run again,
    it resets those accounts' passwords and rotates those devices' tokens (audited)."""
    sync_catalog(engine, catalog)
    first_ward = next(iter(catalog.wards))
    passwords = passwords or {}
    accounts = []
    for username, role, ward in (("staff", "staff", first_ward),
                                 ("supervisor", "supervisor", None), ("admin", "admin", None)):
        try:
            pw = create_staff(engine, username, role, ward, passwords.get(username))
        except AlreadyExists:  # seeding again: fresh secrets, by the explicit reset
            pw, _ = reset_password(engine, username, passwords.get(username))
        accounts.append({"username": username, "role": role, "ward": ward, "password": pw})
    devices = []
    for code in catalog.wards:
        for kind in DEVICE_KINDS:
            name = f"{kind}-{code}-1"
            try:
                device_id, token = create_device(engine, name, kind, code)
            except AlreadyExists:
                row, token, _ = rotate_device_token(engine, name)
                device_id = int(row.id)
            devices.append({"id": device_id, "name": name, "kind": kind, "ward": code,
                            "token": token})
    return {"accounts": accounts, "devices": devices}
