"""Routed visits through the real engine on SQLite and PostgreSQL (issue #17): one number,
ordered stages, each in its service's queue; the counter actions on a route; the place in
the next queue ([queue] stage_order); the purge when the whole visit ends."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.backoffice import models as m
from kiosk.backoffice.db import reading
from kiosk.backoffice.engine import actions, issuing, views, visits
from kiosk.backoffice.engine.errors import Conflict, Forbidden, Invalid
from kiosk.backoffice.principal import Principal
from tests.backoffice.conftest import APPLICATION, admin, kiosk, new_ticket, request

ROUTE = [{"service": "moving", "procedures": ["tennyu"]},
         {"service": "insurance", "procedures": ["kokuho_kanyu", "jidoteate"]},
         {"service": "certificates", "procedures": ["juminhyo"]}]
GUIDE = [{"name": "小中学校の転入学", "place": "other", "office": "教育委員会",
          "bring": ["在学証明書"]},
         {"name": "マイナポータルで転入予約", "place": "online", "url": "https://myna.go.jp/"}]


def routed(bo: Any, route: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
    req = request(service=None, route=route or ROUTE,
                  applications=None if route else [APPLICATION],
                  guide=GUIDE, life_event="tennyu", **kw)
    ticket, _ = issuing.issue(bo, kiosk(bo), req, uuid.uuid4().hex, "")
    return ticket


def clerk(ward: str = "kita") -> Principal:
    return Principal("staff", ward, username="clerk", role="staff")


def serve(bo: Any, ticket: dict[str, Any], counter: int) -> dict[str, Any]:
    """Call the ticket to `counter`, start and complete its current stage."""
    who = clerk()
    actions.act(bo, who, ticket["id"], "call", counter=counter)
    actions.act(bo, who, ticket["id"], "start")
    return actions.act(bo, who, ticket["id"], "complete")


def test_a_routed_ticket_is_one_number_that_moves_across_three_queues(bo: Any) -> None:
    t = routed(bo)
    assert t["number"].startswith("B-")  # the first stage's letter
    assert t["service"] == "moving" and t["stage"] == 1 and t["status"] == "waiting"
    assert [s["service"] for s in t["route"]] == ["moving", "insurance", "certificates"]
    assert [s["status"] for s in t["route"]] == ["waiting"] * 3
    assert t["route"][1]["procedures"] == ["kokuho_kanyu", "jidoteate"]
    t = serve(bo, t, 3)
    assert (t["status"], t["service"], t["stage"], t["number"]) == (
        "waiting", "insurance", 2, t["number"])
    assert [s["status"] for s in t["route"]] == ["done", "waiting", "waiting"]
    assert t["route"][0]["counter"] == 3
    # the next counter calls the same number from its own queue
    called = actions.call_next(bo, clerk(), "kita", 5, "")
    assert called is not None and called["number"] == t["number"]
    assert called["route"][1]["status"] == "called" and called["route"][1]["counter"] == 5
    actions.act(bo, clerk(), t["id"], "start")
    t = actions.act(bo, clerk(), t["id"], "complete")
    assert t["service"] == "certificates" and t["stage"] == 3
    t = serve(bo, t, 2)
    assert t["status"] == "done" and t["completed_at"] is not None
    assert [s["status"] for s in t["route"]] == ["done"] * 3
    types = [e["type"] for e in views.ticket_events(bo, admin(), t["id"])]
    assert types.count("ticket.called") == 3
    assert types.count("visit.stage_completed") == 2 and types.count("ticket.completed") == 1
    with reading(bo.engine) as conn:
        stages = conn.execute(select(m.ticket_stages).where(
            m.ticket_stages.c.ticket_id == t["id"]).order_by(m.ticket_stages.c.seq)).all()
    assert all(s.arrived_at and s.called_at and s.started_at and s.completed_at for s in stages)
    assert [s.counter for s in stages] == [3, 5, 2]


def test_each_stage_clerk_sees_only_the_forms_of_their_stage(bo: Any) -> None:
    t = routed(bo)
    seen = views.get_ticket(bo, clerk(), t["id"], "")
    assert seen["applications"] == [] and seen["application"] is None  # 転入: no form sent
    t = serve(bo, t, 3)
    t = serve(bo, t, 5)
    seen = views.get_ticket(bo, clerk(), t["id"], "")
    assert [a["procedure"] for a in seen["applications"]] == ["juminhyo"]
    assert seen["applications"][0]["values"]["name"] == APPLICATION["values"]["name"]


def test_the_phone_status_shows_the_route_and_the_guide_without_personal_data(bo: Any) -> None:
    from kiosk.backoffice.engine.shapes import status_json

    t = routed(bo)
    row, ahead = views.ticket_by_status_token(bo, t["status_token"])
    status = status_json(bo, row, ahead)
    assert [s["service"] for s in status["route"]] == ["moving", "insurance", "certificates"]
    assert status["guide"][0]["office"] == "教育委員会"
    assert "山田" not in json.dumps(status, ensure_ascii=False)


@pytest.mark.parametrize(("route", "field"), [
    ([{"service": "nowhere", "procedures": ["tennyu"]}], "route[0].service"),
    ([{"service": "moving", "procedures": ["juminhyo"]}], "route[0].procedures[0]"),
    ([{"service": "moving", "procedures": ["nothing"]}], "route[0].procedures[0]"),
    ([{"service": "moving", "procedures": ["tennyu"]},
      {"service": "moving", "procedures": ["tennyu"]}], "route[1].procedures"),
])
def test_a_bad_route_is_refused_naming_the_field(bo: Any, route: Any, field: str) -> None:
    with pytest.raises(Invalid) as err:
        routed(bo, route)
    assert err.value.details == {"field": field}


def test_applications_pass_the_my_number_guard_and_the_catalog(bo: Any) -> None:
    bad = {**APPLICATION, "values": {**APPLICATION["values"], "name": "123456789018"}}
    req = request(service=None, route=ROUTE, applications=[APPLICATION, bad])
    with pytest.raises(Invalid) as err:
        issuing.issue(bo, kiosk(bo), req, uuid.uuid4().hex, "")
    assert err.value.code == "my_number_refused"
    assert err.value.details == {"field": "applications[1].values.name"}
    req = request(service=None, route=ROUTE, applications=[{**APPLICATION,
                                                            "procedure": "koseki"}])
    with pytest.raises(Invalid) as err:
        issuing.issue(bo, kiosk(bo), req, uuid.uuid4().hex, "")
    assert err.value.details == {"field": "applications[0].procedure"}
    req = request(service="insurance", route=ROUTE)
    with pytest.raises(Invalid) as err:
        issuing.issue(bo, kiosk(bo), req, uuid.uuid4().hex, "")
    assert err.value.details == {"field": "service"}


def test_a_retry_under_the_same_key_replays_the_routed_ticket(bo: Any) -> None:
    key = uuid.uuid4().hex
    req = request(service=None, route=ROUTE, applications=[APPLICATION])
    first, created = issuing.issue(bo, kiosk(bo), req, key, "")
    again, created_again = issuing.issue(bo, kiosk(bo), req, key, "")
    assert (created, created_again) == (True, False)
    assert again["id"] == first["id"] and again["route"] == first["route"]
    with pytest.raises(Conflict):
        issuing.issue(bo, kiosk(bo), replace(req, life_event="tenkyo"), key, "")


def test_add_skip_reorder_and_send_back_are_audited(bo: Any) -> None:
    t = routed(bo)
    t = visits.change_route(bo, clerk(), t["id"], "add", service="certificates",
                            procedures=["koseki"], note="戸籍も必要")
    assert [s["procedures"] for s in t["route"]][-1] == ["koseki"] and len(t["route"]) == 4
    t = visits.change_route(bo, clerk(), t["id"], "reorder", order=[4, 2, 3])
    assert [s["service"] for s in t["route"]] == [
        "moving", "certificates", "insurance", "certificates"]
    assert [s["procedures"] for s in t["route"]][1] == ["koseki"]
    t = visits.change_route(bo, clerk(), t["id"], "skip", seq=3)
    assert t["route"][2]["status"] == "skipped"
    t = serve(bo, t, 3)
    assert t["stage"] == 2 and t["service"] == "certificates"
    t = visits.change_route(bo, clerk(), t["id"], "send-back", seq=1)
    assert (t["stage"], t["service"], t["status"]) == (1, "moving", "waiting")
    assert [s["status"] for s in t["route"]] == ["waiting", "waiting", "skipped", "waiting"]
    t = serve(bo, t, 3)
    assert t["stage"] == 2  # on to the next stage still waiting
    t = visits.change_route(bo, clerk(), t["id"], "skip", seq=2)
    assert t["stage"] == 4
    with pytest.raises(Conflict):  # the last stage is completed, not skipped
        visits.change_route(bo, clerk(), t["id"], "skip", seq=4)
    t = serve(bo, t, 2)
    assert t["status"] == "done"
    events = views.ticket_events(bo, admin(), t["id"])
    route_events = [e for e in events if e["type"].startswith("visit.") and
                    e["type"] != "visit.stage_completed"]
    assert [e["type"] for e in route_events] == [
        "visit.add", "visit.reorder", "visit.skip", "visit.send_back", "visit.skip"]
    assert route_events[0]["actor"] == "clerk" and route_events[0]["data"]["note"] == "戸籍も必要"
    with pytest.raises(Conflict):  # a finished visit's route is closed
        visits.change_route(bo, clerk(), t["id"], "add", service="certificates",
                            procedures=["inkan"])


def test_route_actions_deny_the_wrong_ward_and_devices(bo: Any) -> None:
    t = routed(bo)
    with pytest.raises(Forbidden):
        visits.change_route(bo, clerk("naka"), t["id"], "skip", seq=2)
    with pytest.raises(Forbidden):
        visits.change_route(bo, kiosk(bo), t["id"], "skip", seq=2)
    plain = new_ticket(bo)
    with pytest.raises(Conflict):
        visits.change_route(bo, clerk(), plain["id"], "skip", seq=1)
    with pytest.raises(Invalid):
        visits.change_route(bo, clerk(), t["id"], "add", service="moving",
                            procedures=["kokuho_kanyu"])


@pytest.mark.parametrize("rule", ["issued", "arrival", "front"])
def test_the_next_stage_keeps_its_place_by_the_configured_rule(bo: Any, rule: str) -> None:
    bo.settings = replace(bo.settings, queue=replace(bo.settings.queue, stage_order=rule))
    t = routed(bo, [{"service": "moving", "procedures": ["tennyu"]},
                    {"service": "insurance", "procedures": ["kokuho_kanyu"]}])
    later = new_ticket(bo, "insurance")  # issued after the visit, before its stage 1 ends
    t = serve(bo, t, 3)
    nxt = actions.call_next(bo, clerk(), "kita", 5, "")
    assert nxt is not None
    first = {"issued": t["number"], "front": t["number"], "arrival": later["number"]}[rule]
    assert nxt["number"] == first


def test_the_applications_are_purged_when_the_whole_visit_ends(bo: Any) -> None:
    from datetime import timedelta

    from kiosk.backoffice.clock import utcnow
    from kiosk.backoffice.retention import purge

    tomorrow = utcnow() + timedelta(days=1)  # past the finished grace (the office day's end)
    t = routed(bo)
    t = serve(bo, t, 3)
    purge(bo, now=tomorrow)
    with reading(bo.engine) as conn:
        assert conn.execute(select(m.tickets.c.application).where(
            m.tickets.c.id == t["id"])).scalar_one() is not None  # still in the office
    t = serve(bo, t, 5)
    t = serve(bo, t, 2)
    assert t["status"] == "done"
    purge(bo, now=tomorrow)
    with reading(bo.engine) as conn:
        row = conn.execute(select(m.tickets).where(m.tickets.c.id == t["id"])).one()
    assert row.application is None and row.application_purged_at is not None
