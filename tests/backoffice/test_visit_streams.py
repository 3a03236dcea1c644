"""A routed visit on the live streams, read as the raw bytes the real server sends (issue
#17): the lobby display hears the SAME number called to each next counter, and neither it
nor the phone ever gets the resident's data — on SQLite and on PostgreSQL."""

from __future__ import annotations

import time

import pytest

from tests.backoffice.conftest import APPLICATION, SseReader, issue, ok
from tests.backoffice.test_stream_audiences import NOTE, _assert_public

ROUTE = [{"service": "moving", "procedures": ["tennyu"]},
         {"service": "insurance", "procedures": ["kokuho_kanyu"]},
         {"service": "certificates", "procedures": ["juminhyo"]}]


@pytest.mark.parametrize("db", [None, pytest.param("postgres", marks=pytest.mark.postgres)],
                         ids=["sqlite", "postgres"])
def test_the_display_calls_the_same_number_at_each_stage_and_nothing_personal(
        backoffice_factory, db):
    server = backoffice_factory.start(db)
    ticket = ok(issue(server, service=None, route=ROUTE, applications=[APPLICATION],
                      guide=[{"name": "小中学校の転入学", "place": "other",
                              "office": "教育委員会", "bring": ["在学証明書"]}]), 201)
    staff = server.session("staff")
    display = SseReader(server.api("/events?ward=kita"), server.display_token)
    phone = SseReader(server.api(f"/status/{ticket['status_token']}/events"))
    try:
        display.next("snapshot")
        _, status = phone.next("snapshot")
        assert [s["service"] for s in status["route"]] == ["moving", "insurance",
                                                          "certificates"]
        assert status["guide"][0]["office"] == "教育委員会"
        tid = ticket["id"]
        ok(staff.post(server.api(f"/tickets/{tid}/route/add"),
                      json={"service": "certificates", "procedures": ["koseki"],
                            "note": NOTE}))
        ok(staff.post(server.api(f"/tickets/{tid}/route/skip"), json={"seq": 4, "note": NOTE}))
        for counter in (3, 5, 2):
            ok(staff.post(server.api(f"/wards/kita/counters/{counter}/call-next")))
            ok(staff.post(server.api(f"/tickets/{tid}/start")))
            done = ok(staff.post(server.api(f"/tickets/{tid}/complete"), json={"note": NOTE}))
        assert done["status"] == "done"
        calls = [display.next("ticket.called")[1] for _ in range(3)]
        assert [(c["ticket"]["number"], c["counter"]) for c in calls] == [
            (ticket["number"], 3), (ticket["number"], 5), (ticket["number"], 2)]
        display.next("ticket.completed")
        time.sleep(0.3)
        assert b"visit.stage_completed" in display.raw and b"visit.add" in display.raw
        assert "教育委員会".encode() not in display.raw  # the guide is the phone's only
        for reader in (display, phone):  # the resident's name, notes, staff keys: never
            _assert_public(bytes(reader.raw))
    finally:
        display.close()
        phone.close()
