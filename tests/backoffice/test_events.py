"""Live events over SSE: snapshot, live changes, catch-up after reconnecting, the phone
page's stream, and several server processes on one PostgreSQL (LISTEN/NOTIFY)."""

from __future__ import annotations

import pytest

from tests.backoffice.conftest import SseReader, issue, ok


def test_display_gets_snapshot_then_live_events_then_catches_up(server):
    staff = server.session("staff")
    sse = SseReader(server.api("/events?ward=kita"), server.display_token)
    try:
        _, snap = sse.next("snapshot")
        assert snap["ward"] == "kita" and "counters" in snap
        t = ok(issue(server, service="insurance"), 201)
        _, ev = sse.next("ticket.issued")
        assert ev["ticket"]["number"] == t["number"] and ev["ward"] == "kita"
        assert "name" not in str(ev["ticket"])  # numbers only, never personal data
        ok(staff.post(server.api(f"/tickets/{t['id']}/hold")))
        _, held = sse.next("ticket.held")
        last_seen = held["id"]
    finally:
        sse.close()
    ok(staff.post(server.api(f"/tickets/{t['id']}/resume")))  # while disconnected
    ok(staff.post(server.api(f"/tickets/{t['id']}/cancel")))
    again = SseReader(server.api("/events?ward=kita"), server.display_token,
                      headers={"Last-Event-ID": str(last_seen)})
    try:
        assert again.next()[0] == "ticket.resumed"  # replayed, no snapshot
        assert again.next()[0] == "ticket.cancelled"
    finally:
        again.close()


def test_service_filter_and_phone_stream(server):
    staff = server.session("staff")
    t = ok(issue(server, service="assistance"), 201)
    only_family = SseReader(server.api("/events?ward=kita&service=family"), server.kiosk_token)
    phone = SseReader(server.api(f"/status/{t['status_token']}/events"))
    try:
        only_family.next("snapshot")
        _, status = phone.next("snapshot")
        assert status["number"] == t["number"] and status["status"] == "waiting"
        ok(issue(server, service="certificates"), 201)
        f = ok(issue(server, service="family"), 201)
        _, ev = only_family.next("ticket.issued")
        assert ev["ticket"]["number"] == f["number"]  # the certificates ticket was filtered out
        ok(staff.post(server.api(f"/tickets/{t['id']}/call"), json={"counter": 5}))
        _, called = phone.next("ticket.called")
        assert called["ticket"]["number"] == t["number"] and called["counter"] == 5
    finally:
        only_family.close()
        phone.close()
    with pytest.raises(AssertionError, match="403"):
        SseReader(server.api("/events?ward=naka"), server.kiosk_token)


@pytest.mark.postgres
def test_events_cross_server_processes_on_postgres(backoffice_factory):
    a = backoffice_factory.start("postgres")
    b = backoffice_factory.also(a)
    on_a = SseReader(a.api("/events?ward=kita"), a.display_token)
    on_b = SseReader(b.api("/events?ward=kita"), b.display_token)
    try:
        on_a.next("snapshot")
        on_b.next("snapshot")
        t = ok(issue(b, service="moving"), 201)  # issued through process B
        for reader in (on_a, on_b):
            _, ev = reader.next("ticket.issued")
            assert ev["ticket"]["number"] == t["number"]
        ok(a.session("staff").post(a.api("/wards/kita/counters/3/call-next")))  # through A
        for reader in (on_a, on_b):
            _, ev = reader.next("ticket.called")
            assert ev["ticket"]["number"] == t["number"] and ev["counter"] == 3
    finally:
        on_a.close()
        on_b.close()


def test_no_token_in_the_url(server):
    """URLs end up in logs and histories: a token in ?access_token= is not a credential
    (the display's page reads its stream with fetch() and a bearer header, live.js)."""
    for token in (server.display_token, server.login("staff")):
        with pytest.raises(AssertionError, match="401"):
            SseReader(server.api(f"/events?ward=kita&access_token={token}"))
    sse = SseReader(server.api("/events?ward=kita"), token=server.display_token)
    try:
        assert sse.next("snapshot")[1]["ward"] == "kita"
    finally:
        sse.close()
