"""Appointments (issue #19) through the engine on the real databases (SQLite and the
private PostgreSQL): the calendar (national holidays from the `holidays` library, 年末年始,
the ward's closures and openings), capacity under parallel bookings, holds that expire, the
limits per address and per contact, cancel and move, and check-in at the kiosk under the
fairness rule (docs/home.md) with the late and no-show rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from kiosk.backoffice import models as m
from kiosk.backoffice.config_home import AppointmentSettings
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine import appointments as appt
from kiosk.backoffice.engine.errors import Conflict, Forbidden, Invalid, NotFound
from kiosk.domain.appointments import normal_code
from tests.backoffice.conftest import in_parallel, kiosk, new_ticket

BOOKED_ON = datetime(2026, 12, 3, 23, 0)   # Fri 4 Dec 2026, 08:00 in Japan (naive UTC)
MONDAY = date(2026, 12, 7)
SLOT = "2026-12-07T10:00"                  # 01:00 UTC
SLOT_UTC = datetime(2026, 12, 7, 1, 0)


def with_rules(bo: Any, **kw: Any) -> Any:
    bo.settings = replace(bo.settings, appointments=replace(bo.settings.appointments, **kw))
    return bo


def book(bo: Any, slot: str = SLOT, address: str = "198.51.100.1",
         contact: str = "hanako@example.jp") -> dict[str, Any]:
    held = appt.hold(bo, "kita", "certificates", slot, address=address, now=BOOKED_ON)
    return appt.confirm(bo, held["code"], contact, now=BOOKED_ON)


def test_the_calendar_closes_holidays_and_the_year_end(bo: Any) -> None:
    with_rules(bo, closures={"kita": (date(2026, 12, 10),)},
               openings={"kita": (date(2026, 12, 13),)})
    got = [d["day"] for d in appt.days(bo, "kita", "certificates", now=BOOKED_ON)["days"]]
    # 4 Dec (Fri) .. 18 Dec: weekdays, less the ward's closure (10th), plus its Sunday opening
    assert got[:6] == ["2026-12-04", "2026-12-07", "2026-12-08", "2026-12-09", "2026-12-11",
                       "2026-12-13"]
    cal = appt.calendar(bo, bo.catalog.wards["kita"])
    assert [cal.open_on(date(2026, 12, d)) for d in (28, 29, 30, 31)] == [True] + [False] * 3
    assert [cal.open_on(date(2027, 1, d)) for d in (1, 4, 11)] == [False, True, False]  # 成人の日
    assert not cal.open_on(date(2026, 9, 22))  # 国民の休日 between two holidays
    assert not cal.open_on(date(2026, 11, 23)) and cal.open_on(date(2026, 11, 24))
    closed = appt.slots(bo, "kita", "certificates", date(2026, 12, 10), now=BOOKED_ON)
    assert closed["open"] is False and closed["slots"] == []
    with pytest.raises(NotFound):
        appt.days(bo, "kita", "family")  # family takes no appointments


def test_capacity_holds_and_their_expiry(bo: Any) -> None:
    day = appt.slots(bo, "kita", "certificates", MONDAY, now=BOOKED_ON)
    first = day["slots"][0]
    assert (first["start"], first["capacity"], first["free"]) == ("2026-12-07T08:45", 3, 3)
    assert day["slots"][-1]["start"] == "2026-12-07T17:00"
    for i in range(3):
        appt.hold(bo, "kita", "certificates", SLOT, address=f"a{i}", now=BOOKED_ON)
    with pytest.raises(Conflict, match="taken"):
        appt.hold(bo, "kita", "certificates", SLOT, address="a9", now=BOOKED_ON)
    later = BOOKED_ON + timedelta(minutes=bo.settings.appointments.hold_minutes + 1)
    ten = next(s for s in appt.slots(bo, "kita", "certificates", MONDAY, now=later)["slots"]
               if s["start"] == SLOT)
    assert ten["free"] == 3  # the three holds ran out
    held = appt.hold(bo, "kita", "certificates", SLOT, address="a9", now=later)
    assert held["status"] == "held" and normal_code(held["code"].lower()) == held["code"]
    with reading(bo.engine) as conn:
        taken = conn.execute(select(m.appointment_slots.c.taken)).scalar_one()
    assert taken == 1  # the expired holds gave their places back when the slot was taken
    with pytest.raises(Invalid):
        appt.hold(bo, "kita", "certificates", "2026-12-07T10:05", address="x", now=BOOKED_ON)
    with pytest.raises(Conflict, match="closed"):  # the cut-off: 60 minutes before
        appt.hold(bo, "kita", "certificates", SLOT, address="x",
                  now=SLOT_UTC - timedelta(minutes=59))


def test_parallel_bookings_never_pass_the_capacity(bo: Any) -> None:
    results = in_parallel(lambda i: appt.hold(bo, "kita", "certificates", SLOT,
                                              address=f"p{i}", now=BOOKED_ON))
    assert results == ["ok"] * 3 + ["slot_full"] * 9


def test_limits_per_address_and_per_contact(bo: Any) -> None:
    with_rules(bo, max_per_address=2, max_per_contact=1)
    book(bo, address="203.0.113.5", contact="090-1234-5678")
    held = appt.hold(bo, "kita", "certificates", "2026-12-07T11:00", address="203.0.113.5",
                     now=BOOKED_ON)
    with pytest.raises(Conflict, match="network"):
        appt.hold(bo, "kita", "certificates", "2026-12-07T12:00", address="203.0.113.5",
                  now=BOOKED_ON)
    with pytest.raises(Conflict, match="contact"):  # the same phone, written differently
        appt.confirm(bo, held["code"], "09012345678", now=BOOKED_ON)
    with reading(bo.engine) as conn:
        stored = [tuple(r) for r in conn.execute(select(m.appointments))]
    assert not any("1234" in str(v) or "203.0.113" in str(v) for row in stored for v in row)


def test_cancel_and_move_keep_the_count(bo: Any) -> None:
    booked = book(bo)
    moved = appt.move(bo, booked["code"], "2026-12-08T09:00", now=BOOKED_ON)
    assert (moved["code"], moved["slot"], moved["status"]) == (
        booked["code"], "2026-12-08T09:00", "booked")
    slots = {s["start"]: s["free"] for s in
             appt.slots(bo, "kita", "certificates", MONDAY, now=BOOKED_ON)["slots"]}
    assert slots[SLOT] == 3
    cancelled = appt.cancel(bo, booked["code"].lower())
    assert cancelled["status"] == "cancelled"
    with pytest.raises(Conflict):
        appt.cancel(bo, booked["code"])
    with pytest.raises(NotFound):
        appt.find(bo, "ZZZZZZZZZZ")


def test_check_in_queues_by_the_fairness_rule(bo: Any) -> None:
    lead = bo.settings.appointments.lead_minutes
    booked = book(bo)
    early, later = new_ticket(bo), new_ticket(bo)
    with writing(bo.engine) as conn:  # walk-ins who came 20 min and 5 min before the slot
        for ticket, minutes in ((early, 20), (later, 5)):
            conn.execute(update(m.tickets).where(m.tickets.c.id == ticket["id"])
                         .values(queue_at=SLOT_UTC - timedelta(minutes=minutes)))
    with pytest.raises(Conflict, match="opens"):
        appt.check_in(bo, kiosk(bo), booked["code"], "http://t/",
                      now=SLOT_UTC - timedelta(minutes=31))
    with pytest.raises(Forbidden, match="another ward") as wrong:
        appt.check_in(bo, kiosk(bo, "naka"), booked["code"], "http://t/",
                      now=SLOT_UTC - timedelta(minutes=2))
    assert wrong.value.code == "wrong_ward" and wrong.value.details == {"ward": "kita"}
    came = appt.check_in(bo, kiosk(bo), booked["code"], "http://t/",
                         now=SLOT_UTC - timedelta(minutes=2))
    assert came["late"] is False and came["appointment"]["status"] == "checked_in"
    with reading(bo.engine) as conn:
        row = conn.execute(select(m.tickets).where(m.tickets.c.id == came["ticket"]["id"])).one()
    assert row.priority == "appointment"
    assert row.rank == bo.settings.queue.priority_rank["normal"]
    assert row.queue_at == SLOT_UTC - timedelta(minutes=lead)
    # the walk-in who came before slot - lead stays ahead; the later one is behind
    assert came["ticket"]["people_ahead"] == 1
    again = appt.check_in(bo, kiosk(bo), booked["code"], "http://t/",
                          now=SLOT_UTC - timedelta(minutes=1))
    assert again["ticket"]["id"] == came["ticket"]["id"]


def test_late_and_no_show_rules(bo: Any) -> None:
    s: AppointmentSettings = bo.settings.appointments
    late = book(bo)
    gone = book(bo, slot="2026-12-07T09:00", contact="other@example.jp")
    came = appt.check_in(bo, kiosk(bo), late["code"], "http://t/",
                         now=SLOT_UTC + timedelta(minutes=s.check_in_late_minutes + 1))
    assert came["late"] is True and came["appointment"]["status"] == "late"
    with reading(bo.engine) as conn:
        row = conn.execute(select(m.tickets).where(m.tickets.c.id == came["ticket"]["id"])).one()
    assert (row.priority, row.rank) == ("normal", bo.settings.queue.priority_rank["normal"])
    assert appt.mark_no_shows(bo, now=SLOT_UTC + timedelta(minutes=s.no_show_minutes)) == 1
    assert appt.find(bo, gone["code"]).status == "no_show"
    with pytest.raises(Conflict):
        appt.check_in(bo, kiosk(bo), gone["code"], "http://t/", now=SLOT_UTC)


def test_a_life_event_booking_checks_in_with_its_forms(bo: Any) -> None:
    """forms_first: the checks only, no ticket, the booking unchanged; then the visit's
    route and forms with the code: the routed ticket, as an appointment. A kiosk that
    does not ask (older) gets a plain ticket of the booked service, as before."""
    held = appt.hold(bo, "kita", "certificates", SLOT, address="198.51.100.9",
                     life_event="tennyu", now=BOOKED_ON)
    code = appt.confirm(bo, held["code"], "event@example.jp", now=BOOKED_ON)["code"]
    at = SLOT_UTC - timedelta(minutes=5)
    first = appt.check_in(bo, kiosk(bo), code, "http://t/", now=at, forms_first=True)
    assert first["ticket"] is None and appt.find(bo, code).status == "booked"
    visit = {"life_event": "tennyu", "guide": [], "applications": None,
             "route": [{"service": "moving", "procedures": ["tennyu"]},
                       {"service": "certificates", "procedures": ["juminhyo"]}]}
    came = appt.check_in(bo, kiosk(bo), code, "http://t/", now=at, visit=visit,
                         forms_first=True)
    assert came["ticket"]["priority"] == "appointment" and came["ticket"]["service"] == "moving"
    assert appt.find(bo, code).status == "checked_in"
    again = appt.check_in(bo, kiosk(bo), code, "http://t/", now=at, forms_first=True)
    assert again["ticket"]["id"] == came["ticket"]["id"]


# --- the key of the stored hashes (no fixed default: docs/security.md) -----------------------

def test_the_hash_key_is_made_once_random_and_private(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import stat

    from kiosk.backoffice import hash_key

    monkeypatch.delenv(hash_key.ENV, raising=False)
    monkeypatch.setattr(hash_key, "_key", None)
    path = tmp_path / "state" / "key"
    (tmp_path / "file").write_text("")
    first = hash_key.start(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 64
    one = appt.contact_hash("090-1234-5678")
    assert hash_key.start(path) == first and appt.contact_hash("09012345678") == one
    other = hash_key.read_or_create(tmp_path / "elsewhere")
    assert other != first                           # random, not a fixed default
    monkeypatch.setenv(hash_key.ENV, "k" * 40)      # the environment wins
    assert hash_key.start(path) == b"k" * 40 and appt.contact_hash("09012345678") != one
    monkeypatch.delenv(hash_key.ENV)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger=hash_key.__name__):
        hash_key.start(path)
    assert "chmod 600" in caplog.text
    with pytest.raises(RuntimeError, match="cannot be made or read"):
        hash_key.start(tmp_path / "file" / "below-a-file")   # "file" is not a folder
    path.write_text("short\n")
    with pytest.raises(ValueError, match="too short"):
        hash_key.start(path)
    monkeypatch.setattr(hash_key, "_key", None)
