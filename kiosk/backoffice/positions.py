"""Phones' places in line: one coalesced update per queue, not every call to every phone.

A phone's status stream gets its own ticket's events at once. How far back in line it is
changes with everyone else's calls, cancels and transfers; sending each of those to every
phone waiting in the queue (and each page then re-reading its status) made a flood of
phones cost every ticket issued (tests/bench/bench_stream_flood.py). Instead, a change in a
queue marks it; at most every `[events] position_every_seconds` one read of the queue's
waiting order (one query, not one per phone) gives every phone of the queue its new
people-ahead count and wait, sent as a small `position` message the page applies itself.
A phone far back gets fewer updates (the gap grows with the people ahead, up to
`position_slowest_seconds`): its wait in minutes hardly moves, and it saves most writes.

The message is public: the phone's own count and wait, nothing of other tickets.

The estimates sent are kept to measure them (engine/shown.py, `source="stream"`): a message
whose minutes differ from the last stored for its ticket and stage becomes a row, all of one
queue update in one INSERT in a worker thread, after the messages are on their way.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import reading
from kiosk.backoffice.engine import shown
from kiosk.backoffice.events import UNNUMBERED, Subscription, encode_named

if TYPE_CHECKING:
    from kiosk.backoffice.context import Backoffice
    from kiosk.backoffice.estimate import Estimate

log = logging.getLogger(__name__)

T = m.tickets
NEAR = 20  # this many people ahead or fewer: every update (the gap grows beyond)


@dataclass(eq=False)
class Place:
    """What the feed knows of one phone: its stream, its ticket's queue, what it was sent."""

    sub: Subscription
    service: str
    sent: tuple[int, int] | None = None  # (people ahead, wait seconds) last sent
    sent_at: float = 0.0
    checked_at: float = float("-inf")  # when its place was last read


def message(ahead: int, wait_seconds: int) -> bytes:
    """The `position` message (no id: it is no event of the audit trail)."""
    return encode_named("position", {"position": ahead + 1, "people_ahead": ahead,
                                     "estimated_wait_seconds": wait_seconds})


class PositionFeed:
    def __init__(self, bo: Backoffice) -> None:
        self.bo = bo
        self.every = bo.settings.events.position_every_seconds
        self.slowest = max(bo.settings.events.position_slowest_seconds, self.every)
        self.places: dict[int, Place] = {}  # by ticket id
        self.queues: dict[tuple[str, str], set[int]] = {}  # (ward, service) -> ticket ids
        self.due: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.changed_at: dict[tuple[str, str], float] = {}
        self.running: set[asyncio.Task[None]] = set()
        bo.hub.watchers.append(self.changed)

    def close(self) -> None:
        """The server stops: no more updates."""
        for handle in self.due.values():
            handle.cancel()
        self.due.clear()
        for task in self.running:
            task.cancel()

    # --- who is watching ---------------------------------------------------------------
    def watch(self, sub: Subscription, service: str, ahead: int | None,
              wait_seconds: int) -> None:
        """A phone stream opened with this status (its snapshot told it `ahead`)."""
        assert sub.ticket is not None
        place = Place(sub, service)
        if ahead is not None:
            place.sent = (ahead, wait_seconds)
            place.sent_at = self._now()
        self.places[sub.ticket] = place
        self.queues.setdefault((sub.ward, service), set()).add(sub.ticket)
        # A change between its snapshot and now would be missed: look once more (shared
        # by every phone that opens within the interval).
        self._mark((sub.ward, service))

    def _forget(self, ticket: int) -> None:
        place = self.places.pop(ticket, None)
        if place is not None:
            filed = self.queues.get((place.sub.ward, place.service))
            if filed is not None:
                filed.discard(ticket)
                if not filed:
                    del self.queues[(place.sub.ward, place.service)]

    # --- what changed ------------------------------------------------------------------
    def changed(self, event: dict[str, Any]) -> None:
        """Every event of the hub: mark the queues whose waiting order it may change."""
        ward = event.get("ward")
        if not isinstance(ward, str):
            return
        ticket = event.get("ticket") or {}
        place = self.places.get(ticket.get("id", -1))
        if place is not None and ticket.get("service") not in (None, place.service):
            # The phone's own ticket was transferred: file it under its new queue.
            self._forget(place.sub.ticket or 0)
            self.watch(place.sub, str(ticket["service"]), None, 0)
        if str(event.get("type", "")).startswith("ticket."):
            services = {event.get("service"), (event.get("data") or {}).get("from_service")}
        else:  # a counter opened or closed, the ward's state: every queue's wait may change
            services = {s for (w, s) in self.queues if w == ward}
        for service in services:
            if isinstance(service, str) and (ward, service) in self.queues:
                self._mark((ward, service))

    def _mark(self, queue: tuple[str, str]) -> None:
        self.changed_at[queue] = self._now()
        self._schedule(queue, self.every)

    def _now(self) -> float:
        loop = self.bo.hub.loop
        return loop.time() if loop is not None else 0.0

    def _schedule(self, queue: tuple[str, str], delay: float) -> None:
        loop = self.bo.hub.loop
        if loop is None or queue in self.due:
            return  # one update per queue and interval, however many changes in it
        self.due[queue] = loop.call_later(delay, self._start, queue)

    def _start(self, queue: tuple[str, str]) -> None:
        self.due.pop(queue, None)
        task = asyncio.get_running_loop().create_task(self._update(queue))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    # --- the update --------------------------------------------------------------------
    def _read(self, ward: str, service: str,
              tickets: list[int]) -> tuple[dict[int, tuple[int, int | None]], Estimate]:
        """People ahead (and the visit's stage) of each of `tickets` still waiting in the
        queue (one query: the database numbers the queue, only these tickets' rows come
        back) and its estimate."""
        from kiosk.backoffice.engine.lookups import service_estimate

        order = func.row_number().over(order_by=(T.c.rank, T.c.queue_at, T.c.id)) - 1
        line = (select(T.c.id, T.c.stage, order.label("ahead"))
                .where(T.c.ward == ward, T.c.service == service, T.c.status == "waiting")
                .subquery())
        with reading(self.bo.engine) as conn:
            rows = conn.execute(select(line.c.id, line.c.ahead, line.c.stage)
                                .where(line.c.id.in_(tickets))).all()
            estimate = service_estimate(self.bo, self.bo.catalog.wards[ward], service, conn)
        return {int(r.id): (int(r.ahead), r.stage) for r in rows}, estimate

    def _gap(self, ahead: int) -> float:
        return min(self.slowest, max(self.every, self.every * ahead / NEAR))

    async def _update(self, queue: tuple[str, str]) -> None:
        ward, service = queue
        live = self.bo.hub.subscribers
        for ticket in [t for t in self.queues.get(queue, ()) if self.places[t].sub not in live]:
            self._forget(ticket)  # its stream ended
        now, later = self._now(), None
        changed = self.changed_at.get(queue, now)
        due: list[Place] = []
        for ticket in self.queues.get(queue, ()):
            place = self.places[ticket]
            if place.checked_at >= changed:
                continue  # nothing moved since its place was read
            at = place.sent_at + self._gap(place.sent[0]) if place.sent else now
            if at <= now:
                due.append(place)
            else:  # further back: its turn comes in its own gap
                later = at if later is None else min(later, at)
        if later is not None:
            self._schedule(queue, max(later - now, self.every))
        if not due:
            return
        try:
            ahead_of, estimate = await run_in_threadpool(
                self._read, ward, service, [p.sub.ticket or 0 for p in due])
        except Exception as exc:  # noqa: BLE001 — try again later; pages keep their last view
            log.warning("phone positions of %s/%s not updated (%s)", ward, service,
                        type(exc).__name__)
            self._schedule(queue, self.slowest)
            return
        encoded: dict[tuple[int, int], bytes] = {}
        store: list[dict[str, Any]] = []
        shown_at = utcnow()
        for place in due:
            place.checked_at = now  # changes during the read were marked after `now`
            ticket = place.sub.ticket or 0
            read = ahead_of.get(ticket)
            if read is None:
                continue  # not waiting (called, held, ...): its own events say so
            ahead, stage = read
            value = (ahead, estimate.wait_seconds(ahead))
            if value == place.sent:
                continue
            data = encoded.get(value)
            if data is None:
                data = encoded[value] = message(*value)
            self.bo.hub.deliver(place.sub, (UNNUMBERED, 0, data))
            place.sent, place.sent_at = value, now
            if place.sub not in live:
                continue  # not sent: the stream ended meanwhile or was dropped (too slow)
            row = shown.stream_values(self.bo, shown.Placed(ticket, ward, service, stage),
                                      ahead, value[1], estimate, shown_at)
            if row is not None:
                store.append(row)
        if store:
            await self._store(store)

    async def _store(self, rows: list[dict[str, Any]]) -> None:
        """The update's shown estimates, in one INSERT off the event loop."""
        try:
            await run_in_threadpool(shown.record_stream, self.bo, rows)
        except Exception as exc:  # noqa: BLE001 — measuring must not stop the feed
            log.warning("%d shown estimates not stored (%s)", len(rows), type(exc).__name__)


def feed_of(bo: Backoffice) -> PositionFeed:
    """The server's position feed (made with the first phone stream)."""
    if bo.positions is None:
        bo.positions = PositionFeed(bo)
    feed: PositionFeed = bo.positions
    return feed
