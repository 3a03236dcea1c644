"""The no-show timer (issue #19): every back-office process marks the bookings not
checked in `no_show_minutes` after their slot, every `[appointments]
no_show_check_seconds`. Safe in several processes at once: one conditional UPDATE, so
each booking is marked once — tested with calls at the same moment (SQLite and
PostgreSQL) and with two real server processes on one database running their timers."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from kiosk.backoffice.engine import appointments as appt
from tests.backoffice.test_appointments import SLOT_UTC, book
from tests.support.booking import book as book_online
from tests.support.booking import bring_to
from tests.ui.test_check_in import staff_view


def test_calls_at_the_same_moment_mark_each_booking_once(bo: Any) -> None:
    s = bo.settings.appointments
    codes = [book(bo, slot=f"2026-12-07T{h:02d}:{m:02d}", contact=f"c{h}{m}@example.jp")["code"]
             for h, m in ((9, 0), (9, 15), (9, 30))]
    on_time = book(bo, slot="2026-12-07T10:00", contact="late@example.jp")["code"]
    now = SLOT_UTC + timedelta(minutes=s.no_show_minutes - 1)  # 10:29: 10:00 not yet
    start = threading.Barrier(6)
    counts: list[int] = []

    def sweep() -> None:
        start.wait()
        counts.append(appt.mark_no_shows(bo, now=now))

    threads = [threading.Thread(target=sweep) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(counts, reverse=True)[0] >= 1 and sum(counts) == 3, counts
    assert [appt.find(bo, c).status for c in codes] == ["no_show"] * 3
    assert appt.find(bo, on_time).status == "booked"
    assert appt.mark_no_shows(bo, now=now) == 0   # idempotent


def wait_for_no_shows(server: Any, codes: list[str], timeout: float = 20.0) -> dict[str, str]:
    end = time.monotonic() + timeout
    while True:
        seen = staff_view(server)
        if all(seen.get(c) == "no_show" for c in codes) or time.monotonic() > end:
            return seen
        time.sleep(0.2)


@pytest.mark.slow
def test_two_server_processes_run_the_timer_on_one_database(backoffice_factory: Any) -> None:
    """Both timers at work on one database: every missed booking marked, the late one
    kept, no error in either log (each booking once: the threaded test above). Then the
    first process stops and the second marks the next ones alone: every process runs it."""
    config = {"appointments": {"no_show_check_seconds": 1, "max_per_address": 50}}
    first = backoffice_factory.start(config=config)
    second = backoffice_factory.also(first)
    missed = [book_online(first, contact=f"gone{i}@example.jp") for i in range(3)]
    kept = book_online(first, contact="kept@example.jp")
    for code in missed:
        bring_to(first, code, -45)   # after no_show_minutes (30)
    bring_to(first, kept, -10)       # late, not yet a no-show
    seen = wait_for_no_shows(second, missed)
    assert [seen[c] for c in missed] == ["no_show"] * 3 and seen[kept] == "booked", seen
    first.stop()
    later = book_online(second, contact="later@example.jp")
    bring_to(second, later, -45)
    assert wait_for_no_shows(second, [later])[later] == "no_show"
    logs = first.log_text() + second.log_text()
    assert "marking no-shows failed" not in logs and "Traceback" not in logs, logs[-3000:]
