"""Live events: an in-process hub fanning events out to SSE subscribers.

Every change is written to the audit trail (`ticket_events`) in the same transaction as
the change. On PostgreSQL the transaction also does ``pg_notify('ward_events', ...)`` and
every server process LISTENs, so all processes' subscribers see every change (a payload is
one event, or a JSON array of the events of a batch of tickets: `publish_payload`); on SQLite
(one process) the event is handed to the hub right after commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kiosk.backoffice.audience import STAFF, event_for

log = logging.getLogger(__name__)

CHANNEL = "ward_events"
CATALOG_CHANNEL = "ward_catalog"  # payload: the new catalog version's number
# The id of a message that is not in the audit trail (a phone's position): always newer than
# what a stream's opening covered, and never a Last-Event-ID (it is sent without an id).
UNNUMBERED = sys.maxsize


def encode(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n".encode()


def encode_named(name: str, payload: Any, event_id: int | None = None) -> bytes:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {data}\n\n".encode()


@dataclass(eq=False)
class Subscription:
    """What one SSE client wants: a ward, optionally one service or one ticket.

    `audience` chooses what of each event it gets (kiosk.backoffice.audience); `credential`
    names the token it came with, for the per-credential cap.
    """

    ward: str
    service: str | None = None
    ticket: int | None = None
    audience: str = STAFF
    credential: str = ""
    # (event id, its transaction's id or 0, the encoded message); None: the stream ends
    queue: asyncio.Queue[tuple[int, int, bytes] | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000))
    dropped: bool = False

    def keys(self) -> list[tuple[Any, ...]]:
        """Where the hub files this subscription (see `event_keys`)."""
        return [("ticket", self.ticket) if self.ticket is not None else ("ward", self.ward)]

    def wants(self, event: dict[str, Any]) -> bool:
        if event.get("ward") != self.ward:
            return False
        ticket = event.get("ticket") or {}
        if self.ticket is not None:
            return ticket.get("id") == self.ticket
        if self.service is not None:
            return self.service in (event.get("service"), (event.get("data") or {}).get(
                "from_service")) or event.get("service") is None
        return True


def event_keys(event: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The subscriptions an event may concern: its ward's ward-wide ones and its ticket's own
    (a phone page) — so an event costs nothing per phone of other tickets (their positions
    travel coalesced: kiosk.backoffice.positions). `Subscription.wants` still decides."""
    keys: list[tuple[Any, ...]] = [("ward", event.get("ward"))]
    ticket = event.get("ticket")
    if ticket:
        keys.append(("ticket", ticket.get("id")))
    return keys


class StreamLimit(Exception):
    """A new stream would pass a cap: `scope` is "credential" or "total"."""

    def __init__(self, scope: str, cap: int) -> None:
        super().__init__(scope)
        self.scope = scope
        self.cap = cap


class Hub:
    def __init__(self, queue_size: int = 1000, *, max_total: int = 0,
                 max_per_credential: int = 0) -> None:
        """`max_total` / `max_per_credential`: open streams allowed (0 = no cap)."""
        self.queue_size = queue_size
        self.max_total = max_total
        self.max_per_credential = max_per_credential
        self.subscribers: set[Subscription] = set()
        self.index: dict[tuple[Any, ...], set[Subscription]] = {}
        # Open streams, counted until the response ends (a dropped subscriber still holds
        # its connection until then).
        self.open: set[Subscription] = set()
        self.per_credential: dict[str, int] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_id = 0
        # Called with every event before it is delivered (the phones' position feed).
        self.watchers: list[Callable[[dict[str, Any]], None]] = []

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def subscribe(self, sub: Subscription) -> Subscription:
        """Start delivering to `sub`; StreamLimit when a cap is reached."""
        if self.max_total and len(self.open) >= self.max_total:
            raise StreamLimit("total", self.max_total)
        held = self.per_credential.get(sub.credential, 0)
        if sub.credential and self.max_per_credential and held >= self.max_per_credential:
            raise StreamLimit("credential", self.max_per_credential)
        sub.queue = asyncio.Queue(maxsize=self.queue_size)
        self.subscribers.add(sub)
        for key in sub.keys():
            self.index.setdefault(key, set()).add(sub)
        self.open.add(sub)
        if sub.credential:
            self.per_credential[sub.credential] = held + 1
        return sub

    def _forget(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)
        for key in sub.keys():
            filed = self.index.get(key)
            if filed is not None:
                filed.discard(sub)
                if not filed:
                    del self.index[key]

    def unsubscribe(self, sub: Subscription) -> None:
        self._forget(sub)
        if sub not in self.open:
            return
        self.open.discard(sub)
        if sub.credential:
            left = self.per_credential.pop(sub.credential, 1) - 1
            if left > 0:
                self.per_credential[sub.credential] = left

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver one event to every interested subscriber (in the event loop's thread),
        each in the projection of its audience, encoded once per audience."""
        event_id = int(event["id"])
        # the writer's transaction (PostgreSQL's notifications carry it): which openings
        # covered the event (kiosk.backoffice.event_order); not part of what is sent
        xid = int(event.pop("xid", 0) or 0)
        self.last_id = max(self.last_id, event_id)
        for watch in self.watchers:
            watch(event)
        encoded: dict[str, bytes] = {}
        candidates: set[Subscription] = set()
        for key in event_keys(event):
            candidates.update(self.index.get(key, ()))
        for sub in candidates:
            if not sub.wants(event):
                continue
            data = encoded.get(sub.audience)
            if data is None:
                data = encoded[sub.audience] = encode(event_for(sub.audience, event))
            self.deliver(sub, (event_id, xid, data))

    def deliver(self, sub: Subscription, item: tuple[int, int, bytes]) -> None:
        """Queue one encoded message for `sub` (dropping it when it does not keep up)."""
        if sub not in self.subscribers:
            return  # gone, or dropped, meanwhile
        try:
            sub.queue.put_nowait(item)
        except asyncio.QueueFull:
            # A stuck client must not grow memory: drop it; it reconnects with
            # Last-Event-ID and catches up from the audit trail.
            sub.dropped = True
            self._forget(sub)
            sub.queue = asyncio.Queue(maxsize=1)
            sub.queue.put_nowait(None)

    def publish_threadsafe(self, events: Iterable[dict[str, Any]]) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        for event in events:
            loop.call_soon_threadsafe(self.publish, event)

    def close(self) -> None:
        for sub in list(self.subscribers):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass
        self.subscribers.clear()
        self.index.clear()


def publish_payload(hub: Hub, payload: str) -> None:
    """A notification on the events channel: one event (a JSON object), or a JSON array of
    them (a batch of tickets issued by one statement: engine/issuing_batch.py), each
    published in turn."""
    got = json.loads(payload)
    for event in got if isinstance(got, list) else (got,):
        hub.publish(event)


async def listen_postgres(dsn: str, hub: Hub, ready: asyncio.Event | None = None,
                          on_catalog: Callable[[], object] | None = None) -> None:
    """LISTEN on the events channel forever, reconnecting after errors; with `on_catalog`
    also on the catalog channel (a new catalog version: catalog_versions.save NOTIFYs)."""
    import psycopg

    delay = 0.2
    listened = False
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                if on_catalog is not None:
                    await conn.execute(f"LISTEN {CATALOG_CHANNEL}")
                    on_catalog()  # a version saved while not listening
                if listened:
                    # Events committed while we were not listening (a failover: the
                    # promoted standby) never reach the open streams: end them, so each
                    # reconnects with Last-Event-ID and replays them from the table.
                    log.warning("event listener back; ending %d open stream(s) so they "
                                "catch up", len(hub.subscribers))
                    hub.close()
                listened = True
                if ready is not None:
                    ready.set()
                delay = 0.2
                async for note in conn.notifies():
                    if note.channel == CATALOG_CHANNEL:
                        if on_catalog is not None:
                            on_catalog()
                        continue
                    if not hub.subscribers:
                        continue  # nobody listening in this process: skip the parse
                    try:
                        publish_payload(hub, note.payload)
                    except (ValueError, KeyError, TypeError):
                        log.warning("ignoring a malformed event notification")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 — keep listening whatever the database did
            log.warning("event listener lost its connection (%s); reconnecting", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
