"""Server-Sent Events streams: a snapshot (or a replay after Last-Event-ID), then live events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import models as m
from kiosk.backoffice import queue
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading
from kiosk.backoffice.events import Subscription, encode, encode_named

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _last_event_id(request: Request, given: int | None) -> int | None:
    if given is not None:
        return given
    header = request.headers.get("last-event-id", "").strip()
    return int(header) if header.isdigit() and len(header) < 19 else None


def _max_event_id(bo: Backoffice, ward: str) -> int:
    e = m.ticket_events
    with reading(bo.engine) as conn:
        return int(conn.execute(select(func.max(e.c.id)).where(e.c.ward == ward)).scalar_one()
                   or 0)


async def _next(sub: Subscription, keepalive: float) -> tuple[int, bytes] | bool | None:
    """The next queued event; False after `keepalive` seconds of silence."""
    try:
        return sub.queue.get_nowait()  # the common case under load: no waiting at all
    except asyncio.QueueEmpty:
        pass
    try:
        async with asyncio.timeout(keepalive):  # no extra task per wait, unlike wait_for
            return await sub.queue.get()
    except TimeoutError:
        return False


async def _pump(bo: Backoffice, sub: Subscription, first: list[bytes],
                watermark: int) -> AsyncIterator[bytes]:
    """Yield the opening messages, then live ones newer than what the opening covered."""
    try:
        for chunk in first:
            yield chunk
        keepalive = bo.settings.events.keepalive_seconds
        while True:
            item = await _next(sub, keepalive)
            if item is False:
                yield b": keep-alive\n\n"
                continue
            if item is None or item is True:  # dropped (too slow) or server shutting down
                return
            event_id, data = item
            if event_id > watermark:
                yield data
    finally:
        bo.hub.unsubscribe(sub)


async def _opening(bo: Backoffice, sub: Subscription, after: int | None,
                   snapshot: Any) -> tuple[list[bytes], int]:
    if after is not None:
        replay = await run_in_threadpool(queue.replay_events, bo, sub.ward, after,
                                         bo.settings.events.replay_limit)
        if replay is not None:
            chunks = [encode(e) for e in replay if sub.wants(e)]
            return chunks, max([after] + [int(e["id"]) for e in replay])
    data, watermark = await run_in_threadpool(snapshot)
    return [encode_named("snapshot", data)], watermark


async def stream_ward(request: Request, bo: Backoffice, ward: str, service: str | None,
                      ticket: int | None, last_event_id: int | None) -> StreamingResponse:
    sub = bo.hub.subscribe(Subscription(ward=ward, service=service, ticket=ticket))

    def snapshot() -> tuple[dict[str, Any], int]:
        view = queue.queue_view(bo, ward)
        return view, int(view["last_event_id"])

    try:
        first, watermark = await _opening(bo, sub, _last_event_id(request, last_event_id),
                                          snapshot)
    except BaseException:
        bo.hub.unsubscribe(sub)
        raise
    return StreamingResponse(_pump(bo, sub, first, watermark), media_type="text/event-stream",
                             headers=HEADERS)


async def stream_status(request: Request, bo: Backoffice, token: str) -> StreamingResponse:
    row, _ = await run_in_threadpool(queue.ticket_by_status_token, bo, token)
    sub = bo.hub.subscribe(Subscription(ward=row.ward, ticket=row.id, queue_calls=row.service))

    def snapshot() -> tuple[dict[str, Any], int]:
        watermark = _max_event_id(bo, row.ward)
        fresh, ahead = queue.ticket_by_status_token(bo, token)
        return queue.status_json(bo, fresh, ahead), watermark

    try:
        first, watermark = await _opening(bo, sub, _last_event_id(request, None), snapshot)
    except BaseException:
        bo.hub.unsubscribe(sub)
        raise
    return StreamingResponse(_pump(bo, sub, first, watermark), media_type="text/event-stream",
                             headers=HEADERS)
