"""A place in today's queue from home (issue #19) through the engine on the real databases
(SQLite and the private PostgreSQL): offered only where the catalog says, while open and
while the estimate exceeds the threshold, a cap per hour and per address; its people ahead;
check-in at the kiosk keeps its place in the line; the "almost your turn" clock and the
no-show; cancel. And the pure rules of kiosk/domain/remote.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import reading
from kiosk.backoffice.engine import actions, remote
from kiosk.backoffice.engine.errors import Conflict, Forbidden, NotFound
from kiosk.domain.errors import ConfigError
from kiosk.domain.remote import RemoteRules, missed, refusal, remote_rules
from kiosk.domain.section import Section
from tests.backoffice.conftest import admin, in_parallel, kiosk, new_ticket


def with_remote(bo: Any, service: str = "certificates", **rules: Any) -> Any:
    services = dict(bo.catalog.services)
    services[service] = replace(services[service], remote=RemoteRules(**rules))
    bo.catalog = replace(bo.catalog, services=services)
    return bo


def with_settings(bo: Any, **kw: Any) -> Any:
    bo.settings = replace(bo.settings, remote=replace(bo.settings.remote, **kw))
    return bo


def service_of(offer: dict[str, Any], code: str) -> dict[str, Any]:
    return next(s for s in offer["services"] if s["service"] == code)


def test_offered_only_where_the_catalog_says_and_while_the_wait_is_long(bo: Any) -> None:
    offer = remote.offer(bo, "kita")
    assert [s["service"] for s in offer["services"]] == ["certificates"]  # catalog.toml
    quiet = service_of(offer, "certificates")
    assert (quiet["available"], quiet["reason"]) == (False, "wait_short")  # min 10 minutes
    with pytest.raises(Conflict, match="wait_short"):
        remote.take(bo, "kita", "certificates", address="198.51.100.1")
    with pytest.raises(NotFound):
        remote.take(bo, "kita", "family", address="198.51.100.1")
    for _ in range(6):
        new_ticket(bo)
    busy = service_of(remote.offer(bo, "kita"), "certificates")
    assert busy["available"] and busy["waiting"] == 6
    assert busy["estimated_wait_seconds"] > 600
    with_remote(bo, per_hour=2, wards=("naka",))
    assert remote.offer(bo, "kita")["services"] == []  # not this ward


def test_a_cap_per_hour_and_per_address(bo: Any) -> None:
    with_remote(bo, per_hour=2, min_wait_minutes=0)
    with_settings(bo, max_per_address=2)
    remote.take(bo, "kita", "certificates", address="a1")
    remote.take(bo, "kita", "certificates", address="a1")
    with pytest.raises(Conflict, match="too many"):
        remote.take(bo, "kita", "certificates", address="a1")
    with pytest.raises(Conflict, match="hour_full"):
        remote.take(bo, "kita", "certificates", address="a2")
    svc = service_of(remote.offer(bo, "kita"), "certificates")
    assert (svc["available"], svc["reason"], svc["left_this_hour"]) == (False, "hour_full", 0)
    next_hour = (utcnow() + timedelta(hours=1)).replace(minute=1)
    assert remote.take(bo, "kita", "certificates", address="a2",
                       now=next_hour)["status"] == "waiting"


def test_parallel_takes_never_pass_the_cap_per_hour(bo: Any) -> None:
    with_remote(bo, per_hour=3, min_wait_minutes=0)
    results = in_parallel(lambda i: remote.take(bo, "kita", "certificates", address=f"p{i}"))
    assert results == ["hour_full"] * 9 + ["ok"] * 3


def test_check_in_keeps_the_place_taken_from_home(bo: Any) -> None:
    with_remote(bo, min_wait_minutes=0)
    before = [new_ticket(bo) for _ in range(5)]
    place = remote.take(bo, "kita", "certificates", address="198.51.100.7", language="en")
    assert place["people_ahead"] == 5 and place["ticket"] is None
    assert place["estimated_wait_seconds"] > 0 and place["almost"] is False
    after = [new_ticket(bo) for _ in range(2)]  # walk-ins who came after the place was taken
    assert after[0]["people_ahead"] == 5  # the place is not in the line until checked in
    with pytest.raises(Forbidden, match="another ward") as denied:  # as a booking's
        remote.check_in(bo, kiosk(bo, "naka"), place["code"], "http://t/")
    assert denied.value.code == "wrong_ward" and denied.value.details == {"ward": "kita"}
    came = remote.check_in(bo, kiosk(bo), place["code"].lower(), "http://t/")
    assert came["remote"]["status"] == "checked_in" and came["late"] is False
    assert came["ticket"]["people_ahead"] == 5  # ahead of the two who came later
    assert came["ticket"]["language"] == "en"
    assert came["remote"]["ticket"]["number"] == came["ticket"]["number"]
    with reading(bo.engine) as conn:
        row = conn.execute(select(m.tickets).where(m.tickets.c.id == came["ticket"]["id"])).one()
        first = conn.execute(select(m.tickets.c.queue_at)
                             .where(m.tickets.c.id == before[-1]["id"])).scalar_one()
    assert row.priority == "normal" and row.queue_at >= first
    again = remote.check_in(bo, kiosk(bo), place["code"], "http://t/")
    assert again["ticket"]["id"] == came["ticket"]["id"]
    with pytest.raises(Conflict):
        remote.cancel(bo, place["code"])


def test_almost_your_turn_then_no_show(bo: Any) -> None:
    with_remote(bo, min_wait_minutes=0)
    with_settings(bo, almost_ahead=1, check_in_minutes=15)
    new_ticket(bo)
    new_ticket(bo)
    place = remote.take(bo, "kita", "certificates", address="a")
    assert place["people_ahead"] == 2 and place["almost"] is False
    # one of the two is called: one ahead, almost its turn — the clock starts
    actions.call_next(bo, admin(), "kita", 1, "http://t/")
    seen = remote.look_up(bo, place["code"])
    assert seen["people_ahead"] == 1 and seen["almost"] is True and seen["check_in_by"]
    late = utcnow() + timedelta(minutes=16)
    assert remote.look_up(bo, place["code"], now=late)["status"] == "no_show"
    with pytest.raises(Conflict, match="in time"):
        remote.check_in(bo, kiosk(bo), place["code"], "http://t/", now=late)
    with pytest.raises(NotFound):
        remote.look_up(bo, "ZZZZZZZZZZ")


def test_cancel_gives_the_place_up(bo: Any) -> None:
    with_remote(bo, min_wait_minutes=0)
    place = remote.take(bo, "kita", "certificates", address="a")
    other = remote.take(bo, "kita", "certificates", address="b")
    assert other["people_ahead"] == 1  # the place before it
    assert remote.cancel(bo, place["code"])["status"] == "cancelled"
    assert remote.look_up(bo, other["code"])["people_ahead"] == 0
    with pytest.raises(Conflict):
        remote.check_in(bo, kiosk(bo), place["code"], "http://t/")


def test_the_pure_rules() -> None:
    rules = RemoteRules(per_hour=3, min_wait_minutes=10, wards=("kita",))
    args = {"open_now": True, "wait_seconds": 601, "taken_this_hour": 2}
    assert refusal(rules, "kita", **args) is None
    assert refusal(rules, "naka", **args) == "not_offered"
    assert refusal(None, "kita", **args) == "not_offered"
    assert refusal(rules, "kita", **{**args, "open_now": False}) == "ward_closed"
    assert refusal(rules, "kita", **{**args, "wait_seconds": 600}) == "wait_short"
    assert refusal(rules, "kita", **{**args, "taken_this_hour": 3}) == "hour_full"
    at = datetime(2026, 12, 7, 1, 0)
    assert not missed(at + timedelta(minutes=15), at, 15)
    assert missed(at + timedelta(minutes=15, seconds=1), at, 15)
    assert not missed(at + timedelta(days=1), None, 15)
    assert remote_rules(Section({"per_hour": 4}, "catalog.toml")).per_hour == 4
    with pytest.raises(ConfigError):
        remote_rules(Section({"per_hour": 0}, "catalog.toml"))
    with pytest.raises(ConfigError):
        remote_rules(Section({"per_hours": 4}, "catalog.toml"))
