"""What the live streams show to whom, read as the raw bytes the real server sends.

Staff of the ward see events as recorded (notes, priorities, ticket ids). The lobby display,
a kiosk and the public phone page see numbers, counters, states and counts only — in live
events, in the replay after Last-Event-ID, in the opening snapshot, and in the display's
queue view — on SQLite and on PostgreSQL (where events travel by NOTIFY)."""

from __future__ import annotations

import json
import time

import pytest

from tests.backoffice.conftest import APPLICATION, SseReader, issue, ok

NOTE = "NOTE-電話番号090-1234-5678 車椅子"
NAME = "山田"
# Keys that only staff may see: the ticket's id, its priority/assistance flag, a note, the
# application's fields, a payment, who acted.
STAFF_ONLY = tuple(f'"{key}":'.encode() for key in (
    "note", "priority", "application", "payment_id", "amount_yen", "actor", "language",
    "waiting", "held", "no_show", "offline", "from_status", "from_service", "started_at"))
TICKET_KEYS = {"number", "status", "service", "counter", "recall_count"}
POSITION_KEYS = {"position", "people_ahead", "estimated_wait_seconds"}


def _assert_public(raw: bytes) -> None:
    assert raw, "nothing was read"
    for secret in (NOTE.encode(), NAME.encode(), *STAFF_ONLY):
        assert secret not in raw, (secret, raw.decode()[:2000])
    for block in raw.decode().split("\n\n"):
        data = "".join(line[6:] for line in block.split("\n") if line.startswith("data: "))
        if not data:
            continue
        payload = json.loads(data)
        if "event: position" in block:  # a phone's place in line: its own counts only
            assert set(payload) == POSITION_KEYS and "id: " not in block, block
        elif "type" in payload:  # an event: its ticket carries numbers and states only
            ticket = payload.get("ticket") or {}
            assert set(ticket) <= TICKET_KEYS, payload
            assert set(payload.get("data") or {}) <= {"state"}, payload
        else:  # a snapshot: no ticket id anywhere in it
            assert '"id"' not in data, data


def _wait_for(readers: list[SseReader], kind: str) -> None:
    for r in readers:
        r.next(kind, timeout=15)


def _busy_ward(server) -> tuple[dict, dict]:
    """Tickets with a priority flag, an application and staff notes, moved around."""
    staff = server.session("staff")
    flagged = ok(issue(server, service=None, procedure="juminhyo", priority="assistance",
                       application=APPLICATION), 201)
    plain = ok(issue(server, service="certificates"), 201)
    tid = flagged["id"]
    ok(staff.post(server.api(f"/tickets/{tid}/call"), json={"counter": 2, "note": NOTE}))
    ok(staff.post(server.api(f"/tickets/{tid}/hold"), json={"note": NOTE}))
    ok(staff.post(server.api(f"/tickets/{tid}/resume"), json={"note": NOTE}))
    ok(staff.post(server.api(f"/tickets/{tid}/transfer"),
                  json={"service": "family", "note": NOTE}))
    ok(staff.post(server.api(f"/tickets/{plain['id']}/call"), json={"counter": 3, "note": NOTE}))
    ok(staff.post(server.api(f"/tickets/{plain['id']}/start"), json={"note": NOTE}))
    ok(server.session("supervisor").put(server.api("/wards/kita/state"),
                                        json={"state": "auto"}))  # the last one: a marker
    return flagged, plain


@pytest.mark.parametrize("db", [None, pytest.param("postgres", marks=pytest.mark.postgres)],
                         ids=["sqlite", "postgres"])
def test_public_streams_carry_numbers_counters_states_and_counts_only(backoffice_factory, db):
    server = backoffice_factory.start(db)
    mine = ok(issue(server, service="certificates"), 201)  # the phone's own ticket
    staff_stream = SseReader(server.api("/events?ward=kita"), server.login("staff"))
    display = SseReader(server.api("/events?ward=kita"), server.display_token)
    kiosk = SseReader(server.api("/events?ward=kita"), server.kiosk_token)
    phone = SseReader(server.api(f"/status/{mine['status_token']}/events"))
    readers = [staff_stream, display, kiosk, phone]
    try:
        _, snap = display.next("snapshot")
        before = snap["last_event_id"]
        flagged, _ = _busy_ward(server)
        _wait_for([staff_stream, display, kiosk], "ward.state")
        # The flagged ticket went ahead of the phone's and was called: the phone hears at
        # most its place in line (coalesced per [events] position_every_seconds), never the
        # other tickets' calls (test_phone_hears_its_place_not_the_other_tickets).
        time.sleep(1.5)  # anything the phone would be sent
        assert b"ticket.called" not in phone.raw and flagged["number"].encode() not in phone.raw
        # The control: the same actions did put notes and flags on the staff stream.
        assert NOTE.encode() in staff_stream.raw and b'"priority":"assistance"' in \
            staff_stream.raw
        for reader in (display, kiosk, phone):
            _assert_public(bytes(reader.raw))
    finally:
        for r in readers:
            r.close()

    # The replay after a reconnect (Last-Event-ID) is projected the same way.
    again = SseReader(server.api("/events?ward=kita"), server.display_token,
                      headers={"Last-Event-ID": str(before)})
    try:
        assert again.next()[0] == "ticket.issued"  # a replay, not a snapshot
        again.next("ward.state")
        assert b"event: snapshot" not in again.raw
        _assert_public(bytes(again.raw))
    finally:
        again.close()

    # The opening snapshot with flagged tickets waiting and held: counts only.
    staff = server.session("staff")
    ok(staff.post(server.api(f"/tickets/{flagged['id']}/hold"), json={"note": NOTE}))
    ok(issue(server, service=None, procedure="juminhyo", priority="priority",
             application=APPLICATION), 201)
    for token in (server.display_token, server.kiosk_token):
        fresh = SseReader(server.api("/events?ward=kita"), token)
        try:
            _, snap = fresh.next("snapshot")
            waiting = {s["code"]: s["waiting_count"] for s in snap["services"]}
            assert waiting["certificates"] >= 1  # the counts are there ...
            _assert_public(bytes(fresh.raw))  # ... the waiting and held lists are not
        finally:
            fresh.close()
    phone = SseReader(server.api(f"/status/{flagged['status_token']}/events"))
    try:
        _, status = phone.next("snapshot")
        assert status["number"] == flagged["number"] and status["status"] == "held"
        _assert_public(bytes(phone.raw))
    finally:
        phone.close()


def test_display_queue_view_matches_its_snapshot(server):
    """The display re-reads GET /wards/{ward}/queue after every event: the same public
    projection as its stream; staff still get the waiting list with flags."""
    ok(issue(server, service=None, procedure="juminhyo", priority="assistance",
             application=APPLICATION), 201)
    for who in ("display", "kiosk"):
        r = server.session(who).get(server.api("/wards/kita/queue"))
        assert r.status_code == 200
        _assert_public(b"data: " + r.content + b"\n\n")
        assert {s["code"] for s in r.json()["services"]} >= {"certificates"}
    view = ok(server.session("staff").get(server.api("/wards/kita/queue")))
    certs = next(s for s in view["services"] if s["code"] == "certificates")
    assert any(w["priority"] == "assistance" for w in certs["waiting"])


@pytest.mark.parametrize("db", [None, pytest.param("postgres", marks=pytest.mark.postgres)],
                         ids=["sqlite", "postgres"])
def test_phone_hears_its_place_not_the_other_tickets(backoffice_factory, db):
    """Calls ahead of a phone reach it as `position` messages with its own people-ahead
    count and wait — coalesced per queue, without another ticket's number, id, note or flag;
    a reconnect with Last-Event-ID gets its own events replayed and where it stands now."""
    server = backoffice_factory.start(db)
    staff = server.session("staff")
    ahead = [ok(issue(server, service=None, procedure="juminhyo", priority=p,
                      application=APPLICATION), 201) for p in ("assistance", "normal", "normal")]
    assert {t["service"] for t in ahead} == {"certificates"}
    mine = ok(issue(server, service="certificates"), 201)
    phone = SseReader(server.api(f"/status/{mine['status_token']}/events"))
    try:
        _, snap = phone.next("snapshot")
        assert snap["people_ahead"] == 3
        ok(staff.post(server.api(f"/tickets/{ahead[0]['id']}/call"),
                      json={"counter": 2, "note": NOTE}))
        ok(staff.post(server.api(f"/tickets/{ahead[1]['id']}/cancel"), json={"note": NOTE}))
        _, moved = phone.next("position")
        if moved["people_ahead"] == 2:  # the two changes fell into two intervals
            _, moved = phone.next("position")
        assert moved["people_ahead"] == 1 and moved["position"] == 2
        assert moved["estimated_wait_seconds"] > 0
        raw = bytes(phone.raw)
        _assert_public(raw)
        for other in ahead:
            assert other["number"].encode() not in raw
        assert b"ticket.called" not in raw and b"ticket.cancelled" not in raw
    finally:
        phone.close()
    # A reconnect with Last-Event-ID: its own events replayed (none yet), then where it
    # stands now; its own call comes at once, as an event of the trail.
    trail = ok(staff.get(server.api(f"/tickets/{mine['id']}/events")))
    issued_id = next(e["id"] for e in trail if e["type"] == "ticket.issued")
    again = SseReader(server.api(f"/status/{mine['status_token']}/events"),
                      headers={"Last-Event-ID": str(issued_id)})
    try:
        _, now = again.next("position")
        assert now["people_ahead"] == 1
        ok(staff.post(server.api(f"/tickets/{mine['id']}/call"),
                      json={"counter": 3, "note": NOTE}))
        _, called = again.next("ticket.called")
        assert called["ticket"]["number"] == mine["number"] and called["counter"] == 3
        assert b"event: snapshot" not in again.raw
        _assert_public(bytes(again.raw))
    finally:
        again.close()
