"""Every counter action from every ticket state: legal ones move, illegal ones answer 409."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from kiosk.backoffice import models as m
from kiosk.backoffice.db import writing
from kiosk.backoffice.engine import actions, views
from kiosk.backoffice.engine.errors import Conflict
from kiosk.backoffice.states import ACTIONS, STATES, TRANSITIONS, allowed_actions
from tests.backoffice.conftest import admin, make_backoffice, new_ticket

# How to bring a fresh waiting ticket into each state (counter 2 serves certificates).
PATHS = {
    "waiting": [], "called": [("call", {})], "serving": [("call", {}), ("start", {})],
    "held": [("hold", {})], "no_show": [("call", {}), ("no-show", {})],
    "done": [("call", {}), ("start", {}), ("complete", {})], "cancelled": [("cancel", {})],
}


@pytest.fixture(scope="module")
def bo(tmp_path_factory):
    bo = make_backoffice(f"sqlite:///{tmp_path_factory.mktemp('states')}/db.sqlite3")
    yield bo
    bo.engine.dispose()


def _free_counters(bo):
    with writing(bo.engine) as conn:
        conn.execute(update(m.tickets).where(m.tickets.c.status.in_(("called", "serving")))
                     .values(status="done", counter=None))


def _in_state(bo, state):
    _free_counters(bo)
    t = new_ticket(bo)
    for action, _ in PATHS[state]:
        t = actions.act(bo, admin(), t["id"], action, counter=2)
    assert t["status"] == state
    return t


def test_the_table_covers_every_state():
    assert set(PATHS) == set(STATES)
    assert {s for sources, _ in TRANSITIONS.values() for s in sources} <= set(STATES)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_transition(bo, state, action):
    t = _in_state(bo, state)
    sources, target = TRANSITIONS[action]
    kwargs = {"counter": 2}
    if action == "transfer":
        kwargs["service"] = "assistance"
    if state in sources:
        after = actions.act(bo, admin(), t["id"], action, **kwargs)
        assert after["status"] == target
        if action == "transfer":
            assert after["service"] == "assistance" and after["number"] == t["number"]
        if action == "recall":
            assert after["recall_count"] == t["recall_count"] + 1
    else:
        with pytest.raises(Conflict) as err:
            actions.act(bo, admin(), t["id"], action, **kwargs)
        assert err.value.code == "illegal_transition"
        assert t["number"] in err.value.message and state in err.value.message
        assert err.value.details["allowed"] == allowed_actions(state)
        again = views.get_ticket(bo, admin(), t["id"], "")
        assert again["status"] == state  # nothing changed


def test_audit_trail_names_who_and_what(bo):
    t = _in_state(bo, "done")
    trail = views.ticket_events(bo, admin(), t["id"])
    assert [e["type"] for e in trail] == ["ticket.issued", "ticket.called", "ticket.started",
                                         "ticket.completed"]
    assert trail[0]["device"] is not None and trail[1]["actor"] == "tester"
    assert trail[1]["counter"] == 2


def _order(bo, service):
    view = views.queue_view(bo, "kita")
    return [t["id"] for t in next(s for s in view["services"] if s["code"] == service)["waiting"]]


def test_transfer_policy_from_config(tmp_path):
    for keeps_place in (True, False):
        bo = make_backoffice(f"sqlite:///{tmp_path}/t{keeps_place}.sqlite3",
                             transfer_keeps_place=keeps_place)
        old = new_ticket(bo, "certificates")
        newer = new_ticket(bo, "moving")
        actions.act(bo, admin(), old["id"], "transfer", service="moving")
        expected = [old["id"], newer["id"]] if keeps_place else [newer["id"], old["id"]]
        assert _order(bo, "moving") == expected
        bo.engine.dispose()


def test_hold_and_resume_keep_the_place_and_priority_goes_first(bo):
    _free_counters(bo)
    for t in views.queue_view(bo, "kita")["services"][0]["waiting"]:
        actions.act(bo, admin(), t["id"], "cancel")
    first, second = new_ticket(bo), new_ticket(bo)
    actions.act(bo, admin(), first["id"], "hold")
    assert _order(bo, "certificates") == [second["id"]]
    actions.act(bo, admin(), first["id"], "resume")
    urgent = new_ticket(bo, priority="priority")
    assert _order(bo, "certificates") == [urgent["id"], first["id"], second["id"]]
