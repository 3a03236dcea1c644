"""Server-Sent Events streams: a snapshot (or a replay after Last-Event-ID), then live events.

Each stream shows its audience's projection of the events (kiosk.backoffice.audience): staff
of the ward everything, a display, a kiosk or a phone numbers, counters, states and counts.
A stream is authorised while it runs, not only when it opens: every few seconds it checks
its credential again and ends when the session was logged out or expired, the device was
revoked or the account disabled (`Recheck`). Caps on open streams live in the hub.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice.audience import PUBLIC, event_for, public_status, queue_view_for
from kiosk.backoffice.audience import of as audience_of
from kiosk.backoffice.auth import Principal, _token_of, hash_token, resolve_token
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading
from kiosk.backoffice.engine import shapes, views
from kiosk.backoffice.engine.errors import EngineError
from kiosk.backoffice.errors import ApiError
from kiosk.backoffice.event_order import Covered
from kiosk.backoffice.events import UNNUMBERED, StreamLimit, Subscription, encode, encode_named
from kiosk.backoffice.positions import feed_of
from kiosk.backoffice.positions import message as position_message

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class Recheck:
    """How a running stream re-validates its caller: `valid()` (blocking, run in a worker
    thread) every `seconds`; the stream ends as soon as it answers False."""

    seconds: float
    valid: Callable[[], bool]


def _last_event_id(request: Request, given: int | None) -> int | None:
    if given is not None:
        return given
    header = request.headers.get("last-event-id", "").strip()
    return int(header) if header.isdigit() and len(header) < 19 else None


def _max_event_id(bo: Backoffice, ward: str) -> int:
    with reading(bo.engine) as conn:
        return views.newest_event_id(conn, ward)


async def _next(sub: Subscription, wait: float) -> tuple[int, int, bytes] | bool | None:
    """The next queued event; False after `wait` seconds of silence."""
    try:
        return sub.queue.get_nowait()  # the common case under load: no waiting at all
    except asyncio.QueueEmpty:
        pass
    try:
        async with asyncio.timeout(max(wait, 0.01)):  # no extra task per wait, unlike wait_for
            return await sub.queue.get()
    except TimeoutError:
        return False


async def _still_valid(recheck: Recheck) -> bool:
    try:
        return await run_in_threadpool(recheck.valid)
    except Exception as exc:  # noqa: BLE001 — cannot tell: end it; the reconnect is checked anew
        log.warning("ending a live stream: its credential could not be checked (%s)",
                    type(exc).__name__)
        return False


async def _pump(bo: Backoffice, sub: Subscription, first: list[bytes], covered: Covered,
                recheck: Recheck) -> AsyncIterator[bytes]:
    """Yield the opening messages, then the live ones the opening did not cover
    (kiosk.backoffice.event_order), until the client leaves, the hub drops it or its
    credential ends."""
    try:
        for chunk in first:
            yield chunk
        loop = asyncio.get_running_loop()
        keepalive = bo.settings.events.keepalive_seconds
        ping_at = loop.time() + keepalive
        check_at = loop.time() + recheck.seconds
        while True:
            now = loop.time()
            if now >= check_at:
                if not await _still_valid(recheck):
                    return
                check_at = loop.time() + recheck.seconds
            if now >= ping_at:
                yield b": keep-alive\n\n"
                ping_at = loop.time() + keepalive
            item = await _next(sub, min(ping_at, check_at) - now)
            if item is False:
                continue
            if item is None or item is True:  # dropped (too slow) or server shutting down
                return
            event_id, xid, data = item
            if not covered.covers(event_id, xid):
                yield data
                ping_at = loop.time() + keepalive
    finally:
        bo.hub.unsubscribe(sub)


def _replay_or_none(bo: Backoffice, ward: str,
                    after: int) -> tuple[list[dict[str, Any]], Covered] | None:
    """The events after `after` when few enough were missed; None means "send a snapshot".

    The gap is judged from the newest id first (one index lookup), so a client saying
    `Last-Event-ID: 0` costs no read of the trail's rows. Ids are shared by every ward, so
    the gap over-counts this ward's events: at worst a snapshot where a replay would do."""
    limit = bo.settings.events.replay_limit
    newest = _max_event_id(bo, ward)
    if after > newest or newest - after > limit:
        return None
    return views.replay_events(bo, ward, after, limit)


async def _opening(bo: Backoffice, sub: Subscription, after: int | None,
                   snapshot: Callable[[], tuple[dict[str, Any], Covered]]
                   ) -> tuple[list[bytes], Covered]:
    if after is not None:
        replay = await run_in_threadpool(_replay_or_none, bo, sub.ward, after)
        if replay is not None:
            events, covered = replay
            return [encode(event_for(sub.audience, e)) for e in events if sub.wants(e)], covered
    data, covered = await run_in_threadpool(snapshot)
    return [encode_named("snapshot", data)], covered


def _subscribe(bo: Backoffice, sub: Subscription) -> Subscription:
    try:
        return bo.hub.subscribe(sub)
    except StreamLimit as limit:
        if limit.scope == "credential":
            raise ApiError(429, "too_many_streams",
                           f"this credential already has {limit.cap} live streams open; "
                           "close one (another tab or screen) first",
                           headers={"Retry-After": "10"}) from None
        raise ApiError(503, "streams_full",
                       f"the server has its maximum of {limit.cap} live streams open; "
                       "try again shortly", headers={"Retry-After": "10"}) from None


async def _stream(bo: Backoffice, sub: Subscription, after: int | None,
                  snapshot: Callable[[], tuple[dict[str, Any], Covered]],
                  recheck: Recheck) -> StreamingResponse:
    sub = _subscribe(bo, sub)
    try:
        first, covered = await _opening(bo, sub, after, snapshot)
    except BaseException:
        bo.hub.unsubscribe(sub)
        raise
    return StreamingResponse(_pump(bo, sub, first, covered, recheck),
                             media_type="text/event-stream", headers=HEADERS)


def _credential_recheck(bo: Backoffice, token: str | None, who: Principal) -> Recheck:
    """Still the same caller? A fresh lookup (not the cache's copy), so a stream ends within
    `[security] token_cache_seconds` of a logout, expiry, revocation or disable."""
    def valid() -> bool:
        if token is None:
            return False
        bo.tokens.drop(hash_token(token))
        now = resolve_token(bo, token, in_use=False)
        # The same account or device, still with the role and ward the stream opened with.
        return now is not None and all(getattr(now, f) == getattr(who, f) for f in (
            "kind", "ward", "role", "staff_id", "device_id", "device_kind"))
    return Recheck(max(bo.settings.security.token_cache_seconds, 1), valid)


async def stream_ward(request: Request, bo: Backoffice, who: Principal, ward: str,
                      service: str | None, ticket: int | None,
                      last_event_id: int | None) -> StreamingResponse:
    """A ward's events for staff or a device (already authorised for the ward)."""
    audience = audience_of(who)
    token = _token_of(request)

    def snapshot() -> tuple[dict[str, Any], Covered]:
        view, covered = views.queue_view_covered(bo, ward)
        return queue_view_for(audience, view), covered

    sub = Subscription(ward=ward, service=service, ticket=ticket, audience=audience,
                       credential=hash_token(token or ""))
    return await _stream(bo, sub, _last_event_id(request, last_event_id), snapshot,
                         _credential_recheck(bo, token, who))


async def stream_status(request: Request, bo: Backoffice, token: str) -> StreamingResponse:
    """One ticket's events for its phone page (public: the status token is the credential),
    and `position` messages as others move its place in line (kiosk.backoffice.positions).
    After a replay (Last-Event-ID) a `position` message says where it stands now."""
    row, _ = await run_in_threadpool(views.ticket_by_status_token, bo, token)
    feed = feed_of(bo)
    now: dict[str, Any] = {}

    def current() -> dict[str, Any]:
        fresh, ahead = views.ticket_by_status_token(bo, token)
        now.update(shapes.status_json(bo, fresh, ahead), waiting=ahead is not None)
        return now

    def snapshot() -> tuple[dict[str, Any], Covered]:
        # What it covers is taken before the ticket is read (not in one snapshot): an
        # event committed in between is sent again rather than missed.
        covered = views.covered_now(bo, row.ward)
        return public_status(current()), covered

    def valid() -> bool:
        try:
            views.ticket_by_status_token(bo, token)
        except EngineError:
            return False
        return True

    sub = Subscription(ward=row.ward, ticket=row.id, audience=PUBLIC,
                       credential="status:" + hash_token(token))
    response = await _stream(bo, sub, _last_event_id(request, None), snapshot,
                             Recheck(bo.settings.events.status_recheck_seconds, valid))
    if not now:  # a replay: no snapshot was read
        try:
            await run_in_threadpool(current)
        except BaseException:  # ended meanwhile: the response is never sent
            bo.hub.unsubscribe(sub)
            raise
        if now["waiting"]:
            sub.queue.put_nowait((UNNUMBERED, 0, position_message(
                now["people_ahead"], now["estimated_wait_seconds"])))
    feed.watch(sub, now["service"], now["people_ahead"] if now["waiting"] else None,
               now["estimated_wait_seconds"])
    return response
