"""Wait estimates learn from real service times and follow the counters that are open."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import writing
from kiosk.backoffice.engine import actions, lookups, views
from kiosk.backoffice.estimate import capacity, learned_mean, level
from kiosk.domain.catalog import Counter
from tests.backoffice.conftest import admin, make_backoffice, new_ticket


def test_learned_mean_moves_from_the_default_to_what_happens():
    assert learned_mean(240, [], 3) == 240
    assert learned_mean(240, [60] * 3, 3) == 150
    assert abs(learned_mean(240, [60] * 60, 3) - 68.57) < 0.01
    assert learned_mean(240, [60, 10**6], 3) == (3 * 240 + 60) / 4  # overnight noise ignored


def test_capacity_counts_open_counters_and_shares():
    counters = [Counter(1, "1", ("a", "b")), Counter(2, "2", ("a",)), Counter(3, "3", ("b",))]
    assert capacity("a", counters, set()) == (1.5, 0)  # none open: the configured staffing
    assert capacity("a", counters, {2}) == (1.0, 1)
    assert capacity("a", counters, {1, 2}) == (1.5, 2)
    assert level(100, 15) == "green" and level(800, 15) == "yellow" and level(2000, 15) == "red"


def test_estimate_follows_real_service_times_and_open_counters(tmp_path):
    bo = make_backoffice(f"sqlite:///{tmp_path}/db.sqlite3")
    ward = bo.catalog.wards["kita"]
    before = lookups.service_estimate(bo, ward, "certificates")
    assert before.mean_service_seconds == 240  # the catalog default, nothing learned yet
    done = [new_ticket(bo) for _ in range(12)]
    now = utcnow()
    with writing(bo.engine) as conn:
        for t in done:
            conn.execute(update(m.tickets).where(m.tickets.c.id == t["id"]).values(
                status="done", started_at=now - timedelta(seconds=90), completed_at=now))
    bo.estimates.clear()
    learned = lookups.service_estimate(bo, ward, "certificates")
    assert learned.samples == 12 and learned.mean_service_seconds == (3 * 240 + 12 * 90) / 15
    t = new_ticket(bo)
    waiting_behind = [new_ticket(bo) for _ in range(3)][-1]
    assert waiting_behind["people_ahead"] == 3
    assert waiting_behind["estimated_wait_seconds"] > t["estimated_wait_seconds"]
    actions.set_counter_open(bo, admin(), "kita", 2, True)  # only counter 2 (certificates only)
    one_open = views.estimates_view(bo, "kita")
    cert = next(s for s in one_open["services"] if s["code"] == "certificates")
    assert cert["open_counters"] == 1
    # capacity 1.0 with counter 2 alone vs 1.5 for the configured staffing: waits grow
    assert cert["estimated_wait_seconds"] == round((4 + 0.5) * learned.mean_service_seconds)
    bo.engine.dispose()
