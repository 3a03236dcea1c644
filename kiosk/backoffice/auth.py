"""Who is calling: staff sessions (bearer or HttpOnly cookie), device tokens, roles.

Routes declare their callers with the dependencies `require_staff(role)`,
`require_device(kind)` and `require_any(...)`; the web pages use the same ones (or
`optional_principal` to redirect to a login page). Tokens are random 256-bit values,
stored as SHA-256 hashes; passwords are hashed with argon2id.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import delete, func, insert, select, update
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.errors import ApiError, forbidden

if TYPE_CHECKING:
    from kiosk.backoffice.context import Backoffice

# staff < supervisor < admin: each may do what the ones before it may. `central` (本庁) is
# outside that ladder: it sees every ward's figures on /central and nothing else — no
# tickets, no calling, no personal data. A city-wide admin (no ward) may look too.
ROLES = ("staff", "supervisor", "admin", "central")
LADDER = ("staff", "supervisor", "admin")
DEVICE_KINDS = ("kiosk", "display")
COOKIE = "ward_session"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

_bearer = HTTPBearer(auto_error=False, description="staff session token or device token")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="staff session (browser)")
# Declared so the OpenAPI document shows both ways in; the token is read in `_token_of`.
BearerCreds = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
CookieCreds = Annotated[str | None, Depends(_cookie)]


@dataclass(frozen=True)
class Principal:
    kind: str                      # "staff" | "device"
    ward: str | None               # None = city-wide
    username: str | None = None
    role: str | None = None
    staff_id: int | None = None
    device_id: int | None = None
    device_kind: str | None = None
    device_name: str | None = None

    def may_see_ward(self, code: str) -> bool:
        return self.ward is None or self.ward == code

    def has_role(self, role: str) -> bool:
        if role == "central":  # every ward's figures: a ward's own admin is not city-wide
            return self.role == "central" or (self.role == "admin" and self.ward is None)
        if self.role not in LADDER or role not in LADDER:
            return False
        return LADDER.index(self.role) >= LADDER.index(role)

    def check_ward(self, code: str) -> None:
        if not self.may_see_ward(code):
            raise forbidden(f"this {'account' if self.kind == 'staff' else 'device'} "
                            f"belongs to ward {self.ward!r}, not {code!r}")

    def public(self) -> dict[str, object]:
        if self.kind == "staff":
            return {"kind": "staff", "username": self.username, "role": self.role,
                    "ward": self.ward}
        return {"kind": "device", "device_id": self.device_id, "name": self.device_name,
                "device_kind": self.device_kind, "ward": self.ward}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)


class TokenCache:
    """Verified tokens for a few seconds, so the hot path skips a lookup per request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Principal | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.seconds, principal)

    def drop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


def resolve_token(bo: Backoffice, token: str) -> Principal | None:
    key = hash_token(token)
    cached = bo.tokens.get(key)
    if cached is not None:
        return cached
    return _lookup(bo, token, key)


def _lookup(bo: Backoffice, token: str, key: str) -> Principal | None:
    principal: Principal | None = None
    with reading(bo.engine) as conn:
        if token.startswith("st_"):
            row = conn.execute(
                select(m.staff.c.id, m.staff.c.username, m.staff.c.role, m.staff.c.ward)
                .join(m.sessions, m.sessions.c.staff_id == m.staff.c.id)
                .where(m.sessions.c.token_hash == key, m.sessions.c.revoked.is_(False),
                       m.sessions.c.expires_at > utcnow(), m.staff.c.active.is_(True))
            ).first()
            if row:
                principal = Principal("staff", row.ward, username=row.username, role=row.role,
                                      staff_id=row.id)
        elif token.startswith("dv_"):
            row = conn.execute(
                select(m.devices.c.id, m.devices.c.kind, m.devices.c.ward, m.devices.c.name)
                .where(m.devices.c.token_hash == key, m.devices.c.active.is_(True))
            ).first()
            if row:
                principal = Principal("device", row.ward, device_id=row.id,
                                      device_kind=row.kind, device_name=row.name)
    if principal is not None:
        bo.tokens.put(key, principal)
    return principal


def _token_of(request: Request, query_token: bool = False) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    if query_token:  # EventSource cannot send headers: device tokens may ride in the URL
        token = request.query_params.get("access_token", "")
        if token.startswith("dv_"):
            return token
    return request.cookies.get(COOKIE) or None


def optional_principal(request: Request) -> Principal | None:
    """The caller, or None when anonymous or the token is unknown/expired. Never raises."""
    token = _token_of(request)
    if not token or len(token) > 200:
        return None
    return resolve_token(request.app.state.backoffice, token)


async def _authenticated(request: Request, query_token: bool = False) -> Principal:
    """The caller; verified tokens come from the cache without leaving the event loop."""
    token = _token_of(request, query_token)
    principal = None
    if token and len(token) <= 200:
        bo = request.app.state.backoffice
        key = hash_token(token)
        principal = bo.tokens.get(key) or await run_in_threadpool(_lookup, bo, token, key)
    if principal is None:
        raise ApiError(401, "unauthorized",
                       "sign in (staff) or send a device token: Authorization: Bearer <token>",
                       headers={"WWW-Authenticate": "Bearer"})
    return principal


def _allowed(principal: Principal, role: str | None, devices: tuple[str, ...]) -> bool:
    if principal.kind == "staff":
        return role is not None and principal.has_role(role)
    return principal.device_kind in devices


def require_any(*, role: str | None = "staff", devices: tuple[str, ...] = DEVICE_KINDS,
                query_token: bool = False) -> Callable[..., Awaitable[Principal]]:
    """Staff of at least `role` (None: no staff) or a device of one of `devices`.
    `query_token`: also accept a device token as ``?access_token=`` (SSE streams only)."""
    async def dependency(request: Request, _b: BearerCreds, _c: CookieCreds) -> Principal:
        principal = await _authenticated(request, query_token)
        if not _allowed(principal, role, devices):
            who = [f"staff with role {role} or higher"] if role else []
            who += [f"a {d} device" for d in devices]
            raise forbidden("this needs " + " or ".join(who))
        return principal
    return dependency


def require_staff(role: str = "staff") -> Callable[..., Awaitable[Principal]]:
    if role not in ROLES:
        raise ValueError(role)
    return require_any(role=role, devices=())


def require_device(kind: str | None = None) -> Callable[..., Awaitable[Principal]]:
    return require_any(role=None, devices=(kind,) if kind else DEVICE_KINDS)


# --- logins ------------------------------------------------------------------------

@dataclass(frozen=True)
class Login:
    token: str
    principal: Principal
    expires_at: object


def login(bo: Backoffice, username: str, password: str, address: str) -> Login:
    sec = bo.settings.security
    now = utcnow()
    since = now - timedelta(seconds=sec.login_window_seconds)
    with reading(bo.engine) as conn:
        by_user = conn.execute(select(func.count()).select_from(m.login_failures).where(
            m.login_failures.c.username == username, m.login_failures.c.at > since)).scalar_one()
        by_addr = conn.execute(select(func.count()).select_from(m.login_failures).where(
            m.login_failures.c.address == address, m.login_failures.c.at > since)).scalar_one()
        row = conn.execute(select(m.staff).where(m.staff.c.username == username,
                                                 m.staff.c.active.is_(True))).first()
    if by_user >= sec.login_max_failures or by_addr >= 4 * sec.login_max_failures:
        raise ApiError(429, "rate_limited", "too many failed sign-ins; try again later",
                       headers={"Retry-After": str(sec.login_window_seconds)})
    if not verify_password(row.password_hash if row else None, password) or row is None:
        with writing(bo.engine) as conn:
            conn.execute(insert(m.login_failures).values(username=username[:64],
                                                         address=address[:64], at=now))
        raise ApiError(401, "bad_credentials", "wrong username or password")
    token = new_token("st_")
    expires = now + timedelta(hours=sec.session_hours)
    with writing(bo.engine) as conn:
        conn.execute(insert(m.sessions).values(token_hash=hash_token(token), staff_id=row.id,
                                               created_at=now, expires_at=expires))
        conn.execute(delete(m.login_failures).where(m.login_failures.c.username == username))
    principal = Principal("staff", row.ward, username=row.username, role=row.role,
                          staff_id=row.id)
    return Login(token, principal, expires)


def logout(bo: Backoffice, token: str) -> None:
    key = hash_token(token)
    with writing(bo.engine) as conn:
        conn.execute(update(m.sessions).where(m.sessions.c.token_hash == key)
                     .values(revoked=True))
    bo.tokens.drop(key)
