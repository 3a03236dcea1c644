"""Who is calling: staff sessions (bearer or HttpOnly cookie), device tokens, roles.

Routes declare their callers with the dependencies `require_staff(role)`,
`require_device(kind)` and `require_any(...)`; the web pages use the same ones (or
`optional_principal` to redirect to a login page). Tokens are random 256-bit values,
stored as SHA-256 hashes; passwords are hashed with argon2id.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, and_, case, delete, insert, or_, select, update
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine.errors import forbidden
from kiosk.backoffice.errors import ApiError
from kiosk.backoffice.principal import DEVICE_KINDS, ROLES, Callers, Principal

if TYPE_CHECKING:
    from kiosk.backoffice.context import Backoffice

COOKIE = "ward_session"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

_bearer = HTTPBearer(auto_error=False, description="staff session token or device token")
_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="staff session (browser)")
# Declared so the OpenAPI document shows both ways in; the token is read in `_token_of`.
BearerCreds = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
CookieCreds = Annotated[str | None, Depends(_cookie)]


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


def resolve_token(bo: Backoffice, token: str, *, in_use: bool = True) -> Principal | None:
    """The caller a token stands for. `in_use=False` checks a token without counting it
    as the session's use: a live stream's periodic re-check must not keep a console
    left open from ever going idle."""
    key = hash_token(token)
    cached = bo.tokens.get(key)
    if cached is not None:
        return cached
    return _lookup(bo, token, key, in_use)


def _lookup(bo: Backoffice, token: str, key: str, in_use: bool = True) -> Principal | None:
    if token.startswith("st_"):
        principal = _staff_session(bo, key, in_use)
    elif token.startswith("dv_"):
        with reading(bo.engine) as conn:
            row = conn.execute(
                select(m.devices.c.id, m.devices.c.kind, m.devices.c.ward, m.devices.c.name)
                .where(m.devices.c.token_hash == key, m.devices.c.active.is_(True))
            ).first()
        principal = None if row is None else Principal(
            "device", row.ward, device_id=row.id, device_kind=row.kind, device_name=row.name)
    else:
        return None
    if principal is not None:
        bo.tokens.put(key, principal)
    return principal


# A session's last use is written at most this often: the idle timeout needs minutes, not
# a database write per request. Lookups run at most every [security] token_cache_seconds.
TOUCH_EVERY = timedelta(minutes=1)


def _staff_session(bo: Backoffice, key: str, in_use: bool = True) -> Principal | None:
    """A live session: not revoked, not expired, not idle, of an enabled account."""
    now = utcnow()
    idle = timedelta(minutes=bo.settings.security.idle_minutes)
    s = m.sessions
    with reading(bo.engine) as conn:
        row = conn.execute(
            select(m.staff.c.id, m.staff.c.username, m.staff.c.role, m.staff.c.ward,
                   s.c.last_seen)
            .join(s, s.c.staff_id == m.staff.c.id)
            .where(s.c.token_hash == key, s.c.revoked.is_(False), s.c.expires_at > now,
                   s.c.last_seen > now - idle, m.staff.c.active.is_(True))
        ).first()
    if row is None:
        return None
    if in_use and row.last_seen < now - TOUCH_EVERY:
        _touch(bo, key, now)
    return Principal("staff", row.ward, username=row.username, role=row.role,
                     staff_id=row.id)


def _touch(bo: Backoffice, key: str, now: datetime) -> None:
    with writing(bo.engine) as conn:
        conn.execute(update(m.sessions).where(m.sessions.c.token_hash == key)
                     .values(last_seen=now))


def _token_of(request: Request) -> str | None:
    """The bearer token, else the session cookie. Never a URL parameter: URLs end up in
    logs, histories and Referer headers."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.cookies.get(COOKIE) or None


def optional_principal(request: Request) -> Principal | None:
    """The caller, or None when anonymous or the token is unknown/expired. Never raises."""
    token = _token_of(request)
    if not token or len(token) > 200:
        return None
    return resolve_token(request.app.state.backoffice, token)


async def _authenticated(request: Request) -> Principal:
    """The caller; verified tokens come from the cache without leaving the event loop."""
    token = _token_of(request)
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


def require(callers: Callers) -> Callable[..., Awaitable[Principal]]:
    """The route dependency admitting `callers` (403 with who it needs otherwise)."""
    async def dependency(request: Request, _b: BearerCreds, _c: CookieCreds) -> Principal:
        principal = await _authenticated(request)
        if not callers.admit(principal):
            raise forbidden(callers.refusal())
        return principal
    return dependency


def require_any(*, role: str | None = "staff", devices: tuple[str, ...] = DEVICE_KINDS,
                ) -> Callable[..., Awaitable[Principal]]:
    """Staff of at least `role` (None: no staff) or a device of one of `devices`."""
    return require(Callers(role, devices))


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
    """A new session for the right password. Each try is counted before the password is
    checked (`_count_try`), so parallel guesses cannot pass the limit; the right password
    gives the try back. Disabled accounts answer like a wrong password."""
    keys = _throttle_keys(bo, username, address)
    counted = _count_try(bo, keys)
    if counted is None:
        raise ApiError(429, "rate_limited", "too many failed sign-ins; try again later",
                       headers={"Retry-After": str(_retry_after(bo, keys))})
    with reading(bo.engine) as conn:
        row = conn.execute(select(m.staff).where(m.staff.c.username == username,
                                                 m.staff.c.active.is_(True))).first()
    if not verify_password(row.password_hash if row else None, password) or row is None:
        _lock_out(bo, keys, counted)
        raise ApiError(401, "bad_credentials", "wrong username or password")
    now = utcnow()
    token = new_token("st_")
    expires = now + timedelta(hours=bo.settings.security.session_hours)
    la = m.login_attempts
    with writing(bo.engine) as conn:
        conn.execute(insert(m.sessions).values(token_hash=hash_token(token), staff_id=row.id,
                                               created_at=now, last_seen=now,
                                               expires_at=expires))
        conn.execute(delete(la).where(la.c.key == keys[0][0]))
        conn.execute(update(la).where(la.c.key == keys[1][0], la.c.tries > 0)
                     .values(tries=la.c.tries - 1))
    principal = Principal("staff", row.ward, username=row.username, role=row.role,
                          staff_id=row.id)
    return Login(token, principal, expires)


def logout(bo: Backoffice, token: str) -> None:
    key = hash_token(token)
    with writing(bo.engine) as conn:
        conn.execute(update(m.sessions).where(m.sessions.c.token_hash == key)
                     .values(revoked=True))
    bo.tokens.drop(key)


def end_sessions(conn: Connection, staff_id: int, keep: str | None = None) -> list[str]:
    """Revoke every live session of an account (reset, disable) but `keep` (the key of the
    session resetting its own password); returns their keys so the caller can drop them
    from its token cache once committed."""
    s = m.sessions
    live = and_(s.c.staff_id == staff_id, s.c.revoked.is_(False), s.c.token_hash != (keep or ""))
    keys = list(conn.execute(select(s.c.token_hash).where(live)).scalars())
    if keys:
        conn.execute(update(s).where(live).values(revoked=True))
    return keys


def session_key(request: Request) -> str | None:
    """The key (hash) of the staff session this request comes with, if any."""
    token = _token_of(request)
    return hash_token(token) if token and token.startswith("st_") else None


def purge_sessions(bo: Backoffice) -> int:
    """Delete ended sessions (revoked, expired, idle) and throttle rows quiet for a day.
    Run by the server's periodic purge (retention.purge_loop) and `ward-backoffice purge`."""
    now = utcnow()
    idle = now - timedelta(minutes=bo.settings.security.idle_minutes)
    s, la = m.sessions, m.login_attempts
    epoch = time.time()
    with writing(bo.engine) as conn:
        ended = conn.execute(delete(s).where(or_(
            s.c.revoked.is_(True), s.c.expires_at <= now, s.c.last_seen.is_(None),
            s.c.last_seen <= idle))).rowcount
        conn.execute(delete(la).where(la.c.blocked_until <= epoch,
                                      la.c.window_start <= epoch - 86_400))
    return int(ended or 0)


# --- sign-in throttling -----------------------------------------------------------------

Keys = tuple[tuple[str, int], ...]  # (throttle key, its limit)

def _throttle_keys(bo: Backoffice, username: str, address: str) -> Keys:
    """(key, limit): the (username, address) pair first, then the address alone. Never the
    username alone: guesses from one address must not lock the owner out elsewhere."""
    sec = bo.settings.security
    address = address[:64]
    return ((f"user:{address} {username}"[:160], sec.login_max_failures),
            (f"addr:{address}", sec.login_address_max_failures))


def _upsert(conn: Connection) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(m.login_attempts)


def _count_try(bo: Backoffice, keys: Keys) -> dict[str, int] | None:
    """Count one try on every key, or on none (None: a key is at its limit or locked out).
    Each key is one conditional upsert: the check and the increment are one statement, so
    the database serialises them (row lock / SQLite's write lock) across threads and
    processes."""
    now = time.time()
    window = bo.settings.security.login_window_seconds
    counted: dict[str, int] = {}
    try:
        with writing(bo.engine) as conn:
            _count_each(conn, keys, counted, now, window)
    except _AtLimit:  # rolled back: the keys counted so far are given back
        return None
    return counted


class _AtLimit(Exception):
    pass


def _count_each(conn: Connection, keys: Keys, counted: dict[str, int],
                now: float, window: int) -> None:
    la = m.login_attempts
    for key, limit in keys:
        stale = la.c.window_start <= now - window
        stmt = _upsert(conn).values(key=key, tries=1, window_start=now, blocked_until=0,
                                    lockouts=0)
        stmt = stmt.on_conflict_do_update(
            index_elements=[la.c.key],
            set_={"tries": case((stale, 1), else_=la.c.tries + 1),
                  "window_start": case((stale, now), else_=la.c.window_start)},
            where=and_(la.c.blocked_until <= now, or_(stale, la.c.tries < limit)),
        ).returning(la.c.tries)
        tries = conn.execute(stmt).scalar()
        if tries is None:
            raise _AtLimit
        counted[key] = int(tries)


def _lock_out(bo: Backoffice, keys: Keys, counted: dict[str, int]) -> None:
    """After a wrong password: a key whose try was its last one is locked out for the
    back-off, doubled at each lock-out (at most the window, or the back-off if longer)."""
    sec = bo.settings.security
    full = [(key, limit) for key, limit in keys if counted.get(key, 0) >= limit]
    if not full:
        return
    la = m.login_attempts
    now = time.time()
    cap = max(sec.login_window_seconds, sec.login_backoff_seconds)
    steps = {n: min(cap, sec.login_backoff_seconds * 2 ** n) for n in range(16)}
    wait = case(steps, value=la.c.lockouts, else_=cap)
    with writing(bo.engine) as conn:
        for key, limit in full:
            conn.execute(update(la).where(la.c.key == key, la.c.tries >= limit).values(
                tries=0, window_start=now, lockouts=la.c.lockouts + 1,
                blocked_until=now + wait))


def _retry_after(bo: Backoffice, keys: Keys) -> int:
    la = m.login_attempts
    now = time.time()
    window = bo.settings.security.login_window_seconds
    limits = dict(keys)
    with reading(bo.engine) as conn:
        rows = conn.execute(select(la).where(la.c.key.in_(limits))).all()
    waits = [r.blocked_until - now if r.blocked_until > now
             else r.window_start + window - now if r.tries >= limits[r.key] else 0
             for r in rows]
    return max(1, math.ceil(max(waits, default=1)))
