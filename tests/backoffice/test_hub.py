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


def test_phones_get_their_own_call_at_once_and_others_calls_spread_out() -> None:
    async def scenario() -> None:
        hub = Hub(call_spread=0.3)
        hub.bind(asyncio.get_running_loop())
        phone = hub.subscribe(Subscription(ward="kita", ticket=1, queue_calls="certificates",
                                           audience=PUBLIC, credential="p"))
        staff = hub.subscribe(Subscription(ward="kita", credential="s"))
        hub.publish(_event(10, "ticket.issued", 5))  # another ticket's issue: not the phone's
        hub.publish(_event(11, "ticket.called", 5))  # another ticket's call: later
        hub.publish(_event(12, "ticket.called", 1))  # its own call: now
        assert phone.queue.get_nowait()[0] == 12 and phone.queue.empty()
        assert [staff.queue.get_nowait()[0] for _ in range(3)] == [10, 11, 12]
        await asyncio.sleep(0.4)
        event_id, data = phone.queue.get_nowait()
        assert event_id == 11 and b"secret" not in data and b"assistance" not in data
        hub.unsubscribe(phone)
        hub.publish(_event(13, "ticket.called", 5))
        await asyncio.sleep(0.4)
        assert phone.queue.empty()  # gone meanwhile: nothing queued for it

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
