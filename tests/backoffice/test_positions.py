"""The phones' position feed on a real database: changes in a queue reach each phone as one
coalesced `position` message with its own count, phones far back later than those near the
front, and nothing for a phone whose place did not move (kiosk.backoffice.positions)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from kiosk.backoffice.audience import PUBLIC
from kiosk.backoffice.engine import actions, shapes, views
from kiosk.backoffice.events import UNNUMBERED, Subscription, listen_postgres
from kiosk.backoffice.positions import PositionFeed
from tests.backoffice.conftest import admin, new_ticket

EVERY = 0.5  # s; a phone 40 back waits 40 / 20 × EVERY = 1 s between updates


def _position(item: tuple[int, bytes]) -> dict[str, Any]:
    event_id, _, data = item
    head, _, body = data.decode().partition("\ndata: ")
    assert event_id == UNNUMBERED and head == "event: position", data
    return dict(json.loads(body))


def fast_positions(bo: Any) -> None:
    bo.settings = replace(bo.settings, events=replace(
        bo.settings.events, position_every_seconds=EVERY, position_slowest_seconds=30))


async def start_hub(bo: Any) -> asyncio.Task[None] | None:
    """The hub on the running loop; on PostgreSQL its NOTIFY listener (returned: cancel it
    at the end), so events travel as between server processes."""
    bo.hub.bind(asyncio.get_running_loop())
    if not bo.is_pg:
        return None
    ready = asyncio.Event()
    listener = asyncio.create_task(listen_postgres(bo.libpq_dsn(), bo.hub, ready))
    await asyncio.wait_for(ready.wait(), 10)
    return listener


def phone(bo: Any, feed: PositionFeed, ticket: dict[str, Any], name: str,
          snapshot: bool = True) -> Subscription:
    """A phone's status stream opened on `ticket` (`snapshot`: the feed knows what its
    opening snapshot said; else its first update sends its place)."""
    sub = bo.hub.subscribe(Subscription(ward="kita", ticket=ticket["id"], audience=PUBLIC,
                                        credential=name))
    status = shapes.status_json(bo, *views.ticket_by_status_token(bo, ticket["status_token"]))
    feed.watch(sub, status["service"], status["people_ahead"] if snapshot else None,
               status["estimated_wait_seconds"])
    return sub


def test_calls_ahead_reach_near_phones_first_coalesced_and_far_ones_later(bo: Any) -> None:
    fast_positions(bo)
    tickets = [new_ticket(bo) for _ in range(42)]
    behind = new_ticket(bo, service="family")  # another queue: never moved


    async def scenario() -> None:
        listener = await start_hub(bo)
        feed = PositionFeed(bo)
        phones = {name: phone(bo, feed, ticket, name) for name, ticket in (
            ("near", tickets[2]), ("far", tickets[41]), ("other", behind))}
        assert feed.places[tickets[41]["id"]].sent[0] == 41  # type: ignore[index]
        for ticket in tickets[:2]:  # two changes at once ahead of both phones
            actions.act(bo, admin(), ticket["id"], "cancel")
        near = _position(await asyncio.wait_for(phones["near"].queue.get(), 10))
        assert near["people_ahead"] == 0 and near["position"] == 1
        assert near["estimated_wait_seconds"] > 0
        assert phones["far"].queue.empty()  # its gap is longer
        far = _position(await asyncio.wait_for(phones["far"].queue.get(), 10))
        assert far["people_ahead"] == 39
        await asyncio.sleep(2 * EVERY)
        # One message each for the two changes; nothing for the phone in another queue.
        assert phones["near"].queue.empty() and phones["far"].queue.empty()
        assert phones["other"].queue.empty()
        # A phone that left is forgotten at the next update of its queue.
        bo.hub.unsubscribe(phones["near"])
        actions.act(bo, admin(), tickets[2]["id"], "cancel")
        await asyncio.sleep(2 * EVERY)
        assert tickets[2]["id"] not in feed.places
        feed.close()
        if listener is not None:
            listener.cancel()

    asyncio.run(scenario())
