"""The hot path of POST /tickets on PostgreSQL: one round trip, no thread hop, no ORM.

An online ticket is issued by the same single statement as the general path
(`engine.issuing.ISSUE_PG`: bump the sequence, insert the ticket and its audit event, NOTIFY it,
count the people ahead), executed on a pooled *autocommit* asyncio connection, so the
statement is its own transaction and the sequence row is locked only while PostgreSQL
runs it (no second round trip for COMMIT). Everything else — offline uploads, retries of
a used key (unique violation), a closed ward, a cold cache — goes the general way
(`engine.issuing.issue` in a worker thread), which also fills the caches this path reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from functools import partial
from typing import Any

from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import psycopg as pg_dialect
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.backoffice.asgi import replaying
from kiosk.backoffice.auth import Principal, hash_token
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import safe_error
from kiosk.backoffice.engine import issuing_batch, shown
from kiosk.backoffice.engine.errors import EngineError
from kiosk.backoffice.engine.issuing import (
    ISSUE_PG,
    ISSUE_PG_SHOWN,
    ISSUERS,
    TicketRequest,
    issue_params,
    new_row,
    pg_issue_params,
)
from kiosk.backoffice.engine.lookups import is_open, service_estimate
from kiosk.backoffice.engine.shapes import ticket_json
from kiosk.backoffice.errors import to_http
from kiosk.backoffice.pgbatch import Batcher, RowBatcher
from kiosk.domain.catalog import Ward

log = logging.getLogger(__name__)

SQL = str(ISSUE_PG.compile(dialect=pg_dialect.dialect()))
SQL_SHOWN = str(ISSUE_PG_SHOWN.compile(dialect=pg_dialect.dialect()))
UNNEST_SQL = str(shown.UNNEST.compile(dialect=pg_dialect.dialect()))


def hot_params(bo: Backoffice, principal: Principal, req: TicketRequest,
               key: str) -> tuple[Ward, dict[str, Any], datetime] | None:
    """The ward and bound parameters of a ticket a hot path may issue, and the time; None when
    it goes the general way (offline upload, routed visit). 4xx as usual. Whether the ward
    is open is the hot path's to check (FastIssuer.issue, GroupIssuer._write)."""
    if req.offline_block is not None:
        return None
    now = utcnow()
    ward, params = issue_params(bo, principal, req, key, now)
    if params["visit"] is not None:  # a routed visit also writes its stages
        return None
    return ward, params, now


class FastIssuer:
    def __init__(self, bo: Backoffice) -> None:
        self.bo = bo
        size = bo.settings.server.db_pool_size
        self.pool = AsyncConnectionPool(bo.libpq_dsn(), min_size=size, max_size=size,
                                        open=False, kwargs={"autocommit": True},
                                        configure=_index_scans_only, name="fast-issue")
        self._filling: dict[tuple[str, str], asyncio.Future[None]] = {}
        most = bo.settings.server.group_commit_max
        self.batcher = Batcher(self.pool, SQL_SHOWN, issuing_batch.sql(shown=True),
                               partial(issuing_batch.params, shown=True), most)
        # an estimate not computed by arithmetic alone ("clerk"): the tickets batched by the
        # statement without it, their estimates then stored by one INSERT a batch
        self.plain = Batcher(self.pool, SQL, issuing_batch.sql(shown=False),
                             partial(issuing_batch.params, shown=False), most)
        self.estimates = RowBatcher(self.pool, UNNEST_SQL, shown.COLUMNS, most)

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=10)

    async def close(self) -> None:
        await self.pool.close()

    async def _warm(self, ward: Ward, service: str, now: datetime) -> bool:
        """The ward's state and the service's estimate cached (they expire after a few
        seconds): when either is not, one worker thread reads them while the requests that
        need them wait for it — not each of them the general way, as until 2026-12-05 (a
        fifth of the server's samples at 32 clients). False when that failed."""
        bo = self.bo
        if bo.ward_states.get(ward.code) is not None and \
                bo.cached_estimate(ward.code, service) is not None:
            return True
        key = (ward.code, service)
        filling = self._filling.get(key)
        if filling is None:
            filling = asyncio.ensure_future(run_in_threadpool(_fill, bo, ward, service, now))
            self._filling[key] = filling
            filling.add_done_callback(lambda _: self._filling.pop(key, None))
        try:
            await asyncio.shield(filling)
        except Exception as exc:  # noqa: BLE001 — the general path answers (and logs) it
            log.warning("hot path could not read the caches (%s)", safe_error(exc))
            return False
        return True

    async def issue(self, principal: Principal, req: TicketRequest, key: str,
                    base_url: str) -> dict[str, Any] | None:
        """The new ticket, or None: take the general path (see the module docstring)."""
        bo = self.bo
        hot = hot_params(bo, principal, req, key)
        if hot is None:
            return None
        ward, params, now = hot
        if not await self._warm(ward, params["service"], now) or not is_open(bo, ward, now):
            return None  # a closed ward (409, or the replay of a ticket issued before)
        served = bo.cached_estimate(params["ward"], params["service"])
        if served is None:
            return None
        folded = shown.in_sql(served)
        values = pg_issue_params(bo, params, principal, now)
        if folded is not None:  # one statement stores the estimate answered too (batched)
            got = await self.batcher.issue({**values, **folded})
            if got is None:
                return None
            row = new_row(params, got[0], got[1], got[2])
            shown.stored_in_sql(bo, row, int(got[3]), served)
            return ticket_json(bo, row, int(got[3]), base_url, served=served)
        got = await self.plain.issue(values)
        if got is None:
            return None
        row = new_row(params, got[0], got[1], got[2])
        # The estimate answered, stored for measuring it (issue #22), computed here from the
        # people ahead counted above: the batch's rows in one INSERT (as before, after the
        # ticket's own commit; when it fails the general path answers, replaying the ticket)
        served, shown_row = shown.issue_values(bo, row, int(got[3]))
        if not await self.estimates.insert(shown_row):
            return None
        return ticket_json(bo, row, int(got[3]), base_url, served=served)


async def _index_scans_only(conn: Any) -> None:
    """The hot path's connections plan the issuing statements with index scans only. Each
    connection settles on a generic plan of the batch statement after five executions; in
    5 of 22 bench runs on a fresh database one connection ran its batches 3-4× as slowly
    for a whole run (one backend busy in SELECT, the others idle; docs/backoffice.md,
    "speed4") — presumably a plan made while the tables were nearly empty, scanning
    `tickets` for every ticket's people ahead. Every table these statements read has the
    index they need; with sequential scans off, 0 of 5 runs went slow (not proof). The
    cause found later was another index chosen on a nearly empty table, which this does
    not prevent: `pgbatch.replan_while_young` is the fix; this stays as a guard."""
    await conn.execute("SET enable_seqscan = off")


def _fill(bo: Backoffice, ward: Ward, service: str, now: datetime) -> None:
    """The caches the hot path reads, read now (in a worker thread)."""
    is_open(bo, ward, now)
    service_estimate(bo, ward, service)


_PATH = "/api/v1/tickets"
_KEY_CHARS = frozenset(range(0x21, 0x7F))


class FastTickets:
    """ASGI middleware answering the common `POST /api/v1/tickets` (bearer token already
    verified by this process, a valid JSON body; PostgreSQL's FastIssuer or SQLite's group
    writer, groupcommit.py) without FastAPI's routing and
    dependency machinery. Anything else — and every refusal it cannot phrase exactly as
    the route would — goes on to the app unchanged (same body), so the contract and the
    OpenAPI document stay those of `routes.tickets.post_ticket`."""

    def __init__(self, app: ASGIApp, bo: Backoffice) -> None:
        self.app = app
        self.bo = bo
        self._bases: dict[tuple[Any, ...], str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != _PATH or scope["method"] != "POST"
                or self.bo.fast_issuer is None):
            await self.app(scope, receive, send)
            return
        fast = self.bo.fast_issuer
        headers = dict(scope["headers"])
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answer = await self._try(fast, scope, headers, body)
        if answer is None:
            await self.app(scope, replaying(body, receive), send)
            return
        status, content = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": content})

    def _base_url(self, scope: Scope) -> str:
        """The request's base URL as starlette builds it (12 µs a request), remembered per
        scheme, server, root paths and Host header (a few dozen at most, else forgotten).
        The key holds the first Host header, the one starlette's URL takes (not `headers`'
        last): a request with two must not file its URL under another's key."""
        host = next((v for k, v in scope["headers"] if k == b"host"), None)
        key = (scope.get("scheme"), scope.get("server"), scope.get("root_path", ""),
               scope.get("app_root_path"), host)
        base = self._bases.get(key)
        if base is None:
            if len(self._bases) >= 64:
                self._bases.clear()
            base = self._bases[key] = str(Request(scope).base_url)
        return base

    async def _try(self, fast: Any, scope: Scope, headers: dict[bytes, bytes],
                   body: bytes) -> tuple[int, bytes] | None:
        from kiosk.backoffice.routes.tickets import TicketIn, request_of

        auth = headers.get(b"authorization", b"")
        key = headers.get(b"idempotency-key", b"")
        if (auth[:7].lower() != b"bearer " or not 8 <= len(key) <= 128
                or not _KEY_CHARS.issuperset(key)
                or not headers.get(b"content-type", b"").startswith(b"application/json")):
            return None
        principal = self.bo.tokens.get(hash_token(auth[7:].strip().decode("latin-1")))
        if principal is None or not ISSUERS.admit(principal):
            return None
        try:
            req = request_of(TicketIn.model_validate_json(body))
            # the request's own URL only when no public_url replaces it (shapes.ticket_json)
            base = "" if self.bo.settings.server.public_url else self._base_url(scope)
            ticket = await fast.issue(principal, req, key.decode(), base)
        except ValidationError:
            return None
        except EngineError as exc:
            error = to_http(exc)
            return error.status, _dump(error.body())
        if ticket is None:
            return None
        return 201, _dump(ticket)


# json.dumps with these options builds an encoder per call; this one is built once
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None,
                            separators=(",", ":"))


def _dump(content: Any) -> bytes:
    """As fastapi's JSONResponse renders it."""
    return _ENCODER.encode(content).encode("utf-8")
