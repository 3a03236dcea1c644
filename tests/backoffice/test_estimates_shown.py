"""Every wait estimate shown to a resident is stored, with the actual wait once the ticket
is called (issue #22), through the real engine on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import simulated
from kiosk.backoffice.db import reading
from kiosk.backoffice.engine import actions, shapes, views
from kiosk.backoffice.waits import estimate_errors
from tests.backoffice.conftest import new_ticket
from tests.backoffice.test_visits import clerk, routed


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 0, 30)  # 09:30 JST, a Monday

    def __call__(self) -> datetime:
        return self.now

    def forward(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def shown(bo: Any, ticket_id: int) -> list[Any]:
    e = m.ticket_estimates
    with reading(bo.engine) as conn:
        return list(conn.execute(select(e).where(e.c.ticket_id == ticket_id).order_by(e.c.id)))


def status(bo: Any, token: str) -> dict[str, Any]:
    row, ahead = views.ticket_by_status_token(bo, token)
    return shapes.status_json(bo, row, ahead)


def test_the_estimate_at_issue_and_the_changed_phone_estimates_get_their_actual_wait(
        bo: Any) -> None:
    clock = Clock()
    with simulated(clock):
        first = [new_ticket(bo) for _ in range(3)]
        mine = new_ticket(bo)
        rows = shown(bo, mine["id"])
        assert [(r.source, r.people_ahead, r.estimate_seconds, r.stage) for r in rows] == [
            ("issue", 3, mine["estimated_wait_seconds"], 0)]
        assert rows[0].method == "learned" and rows[0].actual_seconds is None
        # the page polls: an unchanged estimate adds no row ...
        status(bo, mine["status_token"])
        status(bo, mine["status_token"])
        assert len(shown(bo, mine["id"])) == 1
        # ... a changed one does
        clock.forward(4)
        actions.call_next(bo, clerk(), "kita", 1, "")
        clock.forward(2)
        seen = status(bo, mine["status_token"])
        rows = shown(bo, mine["id"])
        assert [r.source for r in rows] == ["issue", "status"]
        assert rows[1].people_ahead == 2
        assert rows[1].estimate_seconds == seen["estimated_wait_seconds"]
        for _ in first[1:]:
            clock.forward(5)
            actions.call_next(bo, clerk(), "kita", 2, "")
            actions.act(bo, clerk(), _["id"], "start")
            actions.act(bo, clerk(), _["id"], "complete")
        clock.forward(3)
        called = actions.call_next(bo, clerk(), "kita", 2, "")
        assert called is not None and called["id"] == mine["id"]
        rows = shown(bo, mine["id"])
        assert [r.actual_seconds for r in rows] == [19 * 60, 13 * 60]
        # a recall later leaves the actual wait as it was
        clock.forward(2)
        actions.act(bo, clerk(), mine["id"], "recall")
        assert [r.actual_seconds for r in shown(bo, mine["id"])] == [19 * 60, 13 * 60]
        # the statistics: per ward, service and hour of the estimate (the office's time)
        report = estimate_errors(bo, ward="kita", since=clock.now - timedelta(hours=1),
                                 until=clock.now + timedelta(minutes=1))
    by_hour = {(r["ward"], r["service"], r["hour"]): r for r in report["rows"]}
    cell = by_hour[("kita", "certificates", 9)]
    assert cell["n"] >= 2 and 0 <= cell["within_5min"] <= 1
    assert report["total"]["n"] == sum(r["n"] for r in report["rows"])


def test_a_routed_visit_keeps_each_stage_s_estimates_apart(bo: Any) -> None:
    clock = Clock()
    with simulated(clock):
        t = routed(bo)
        assert [r.stage for r in shown(bo, t["id"])] == [1]
        clock.forward(5)
        actions.act(bo, clerk(), t["id"], "call", counter=4)
        actions.act(bo, clerk(), t["id"], "start")
        clock.forward(10)
        t = actions.act(bo, clerk(), t["id"], "complete")
        assert t["stage"] == 2
        status(bo, t["status_token"])
        clock.forward(7)
        actions.call_next(bo, clerk(), "kita", 5, "")
    rows = shown(bo, t["id"])
    assert [(r.stage, r.source, r.service, r.actual_seconds) for r in rows] == [
        (1, "issue", "moving", 300), (2, "status", "insurance", 420)]


def test_the_clerk_estimate_shows_and_stores_a_range(bo: Any) -> None:
    from dataclasses import replace

    from kiosk.backoffice.web.phone import phone_view

    bo.settings = replace(bo.settings, queue=replace(bo.settings.queue, estimator="clerk"))
    bo.estimates.clear()
    clock = Clock()
    with simulated(clock):
        actions.set_counter_open(bo, clerk(), "kita", 2, True)
        tickets = [new_ticket(bo) for _ in range(8)]
        last = tickets[-1]
        low, high = last["estimated_wait_range"]
        assert low <= last["estimated_wait_seconds"] <= high and high > 0
        seen = status(bo, last["status_token"])
    assert seen["estimated_wait_range"] == [low, high]
    assert phone_view(seen, "ja")["estimated_wait"] == f"{low // 60}〜{high // 60} 分"
    rows = shown(bo, last["id"])
    assert [(r.method, r.low_seconds, r.high_seconds) for r in rows] == [("clerk", low, high)]


def test_the_estimates_an_open_status_stream_is_sent_are_stored_once_per_change(
        bo: Any) -> None:
    """`position` messages (positions.py) store their estimate when the minutes shown
    changed (source "stream"), all phones of one queue update in one INSERT."""
    import asyncio

    from sqlalchemy import event

    from kiosk.backoffice.positions import PositionFeed
    from tests.backoffice.conftest import admin
    from tests.backoffice.test_positions import fast_positions, phone, start_hub

    fast_positions(bo)
    tickets = [new_ticket(bo) for _ in range(7)]
    mine, theirs = tickets[3], tickets[5]
    elsewhere = new_ticket(bo, service="family")
    inserts: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TICKET_ESTIMATES"):
            inserts.append(statement)

    async def settled(feed: PositionFeed) -> None:
        await asyncio.sleep(3 * 0.5)  # past the update interval
        while feed.running:  # an update still reading or storing
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        listener = await start_hub(bo)
        feed = PositionFeed(bo)
        phones = [phone(bo, feed, t, str(i)) for i, t in enumerate((mine, theirs))]
        # a phone whose first update re-sends the minutes it was shown at issue
        other = phone(bo, feed, elsewhere, "other", snapshot=False)
        await settled(feed)
        assert not other.queue.empty()  # it was sent its place ...
        assert [r.source for r in shown(bo, elsewhere["id"])] == ["issue"]  # ... same minutes
        event.listen(bo.engine, "before_cursor_execute", count)
        try:
            actions.act(bo, admin(), tickets[0]["id"], "cancel")  # both phones move up
            await settled(feed)
        finally:
            event.remove(bo.engine, "before_cursor_execute", count)
        assert len(inserts) == 1, inserts  # one statement for the queue's update
        for sub in phones:
            assert not sub.queue.empty()
        for t, ahead in ((mine, 2), (theirs, 4)):
            rows = shown(bo, t["id"])
            assert [(r.source, r.people_ahead) for r in rows] == [("issue", 3 if t is mine
                                                                   else 5), ("stream", ahead)]
            assert rows[1].stage == 0 and rows[1].service == "certificates"
        # the page's own status read shows the same minutes: no second row for them
        status(bo, mine["status_token"])
        assert len(shown(bo, mine["id"])) == 2
        actions.act(bo, clerk(), mine["id"], "call", counter=1)  # called out of order
        await settled(feed)
        feed.close()
        if listener is not None:
            listener.cancel()

    asyncio.run(scenario())
    rows = shown(bo, mine["id"])
    assert [r.source for r in rows] == ["issue", "stream"]
    issued, streamed = (r.actual_seconds for r in rows)
    assert streamed is not None and issued is not None and 0 <= streamed <= issued < 60
    # the ticket behind it moved up again (a change of minutes: a row), not yet called
    assert [(r.source, r.people_ahead, r.actual_seconds) for r in shown(bo, theirs["id"])] == [
        ("issue", 5, None), ("stream", 4, None), ("stream", 3, None)]
    report = estimate_errors(bo, ward="kita", since=rows[0].at - timedelta(minutes=1),
                             until=rows[0].at + timedelta(hours=1), source="stream")
    assert report["total"]["n"] == 1
