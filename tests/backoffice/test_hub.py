"""The event hub as a unit: who gets which event, when, and the stream caps' counting."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kiosk.backoffice.audience import PUBLIC
from kiosk.backoffice.events import Hub, StreamLimit, Subscription


def _event(n: int, type_: str, ticket: int, service: str = "certificates") -> dict[str, Any]:
    return {"id": n, "type": type_, "ward": "kita", "service": service, "counter": 2,
            "ticket": {"id": ticket, "number": f"A-{ticket:03d}", "priority": "assistance"},
            "data": {"note": "secret"}}


def test_a_phone_gets_its_own_events_only_and_watchers_see_every_event() -> None:
    """Other tickets' calls no longer go to every phone (their places travel coalesced,
    kiosk.backoffice.positions, which watches every event)."""
    async def scenario() -> None:
        hub = Hub()
        hub.bind(asyncio.get_running_loop())
        seen: list[int] = []
        hub.watchers.append(lambda e: seen.append(e["id"]))
        phone = hub.subscribe(Subscription(ward="kita", ticket=1, audience=PUBLIC,
                                           credential="p"))
        staff = hub.subscribe(Subscription(ward="kita", credential="s"))
        hub.publish(_event(10, "ticket.issued", 5))  # another ticket's issue
        hub.publish(_event(11, "ticket.called", 5))  # another ticket's call
        hub.publish(_event(12, "ticket.called", 1))  # its own call
        event_id, _, data = phone.queue.get_nowait()
        assert event_id == 12 and phone.queue.empty()
        assert b"secret" not in data and b"assistance" not in data
        assert [staff.queue.get_nowait()[0] for _ in range(3)] == [10, 11, 12]
        assert seen == [10, 11, 12]
        hub.unsubscribe(phone)
        hub.publish(_event(13, "ticket.called", 1))
        assert phone.queue.empty()  # gone: nothing queued for it

    asyncio.run(scenario())


def test_caps_count_open_streams_until_they_end_even_when_dropped() -> None:
    async def scenario() -> None:
        hub = Hub(queue_size=10, max_total=3, max_per_credential=2)
        hub.bind(asyncio.get_running_loop())
        a1 = hub.subscribe(Subscription(ward="kita", credential="a"))
        hub.subscribe(Subscription(ward="kita", credential="a"))
        with pytest.raises(StreamLimit) as by_credential:
            hub.subscribe(Subscription(ward="kita", credential="a"))
        assert by_credential.value.scope == "credential"
        hub.subscribe(Subscription(ward="kita", credential="b"))
        with pytest.raises(StreamLimit) as total:
            hub.subscribe(Subscription(ward="kita", credential="c"))
        assert total.value.scope == "total"
        for n in range(12):  # a1 never reads: dropped, but its response is still open
            hub.publish(_event(n + 1, "ticket.issued", 5))
        assert a1.dropped
        with pytest.raises(StreamLimit):
            hub.subscribe(Subscription(ward="kita", credential="c"))
        hub.unsubscribe(a1)  # the response ended
        hub.unsubscribe(a1)  # twice is harmless
        hub.subscribe(Subscription(ward="kita", credential="a"))
        assert hub.per_credential == {"a": 2, "b": 1}

    asyncio.run(scenario())


def test_the_writers_transaction_id_travels_beside_the_message_not_in_it() -> None:
    """PostgreSQL's notifications carry the event's transaction id (kiosk.backoffice.
    event_order): the stream judges by it; the client never sees it."""
    async def scenario() -> None:
        hub = Hub()
        hub.bind(asyncio.get_running_loop())
        staff = hub.subscribe(Subscription(ward="kita", credential="s"))
        hub.publish({**_event(20, "ticket.called", 5), "xid": 777})
        hub.publish(_event(21, "ticket.called", 5))  # SQLite: none
        first, second = staff.queue.get_nowait(), staff.queue.get_nowait()
        assert first is not None and second is not None
        assert first[:2] == (20, 777) and b"xid" not in first[2] and b"777" not in first[2]
        assert second[:2] == (21, 0)
    asyncio.run(scenario())
