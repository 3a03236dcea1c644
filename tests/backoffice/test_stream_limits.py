"""A live stream lives only as long as its credential, within caps, at a bounded cost.

Through the real server: a stream ends within `[security] token_cache_seconds` of its device
being revoked, its session logged out or expired, or its account disabled (and a phone
stream when its ticket's token ends); streams over the per-credential or the total cap are
refused; `Last-Event-ID: 0` gets a snapshot, not the ward's whole history."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from kiosk.backoffice.auth import hash_token
from kiosk.backoffice.clock import utcnow
from tests.backoffice.conftest import SseReader, issue, ok

CACHE = 2  # [security] token_cache_seconds of these servers
SLACK = 1.5  # the request round trips and a worker thread's look-up
CONFIG = {"security": {"token_cache_seconds": CACHE},
          "events": {"max_streams_per_credential": 2, "max_streams_total": 6,
                     "replay_limit": 5, "status_recheck_seconds": 1}}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.support.backoffice import ServerFactory

    factory = ServerFactory(tmp_path_factory.mktemp("limited"))
    try:
        yield factory.start(config=CONFIG)
    finally:
        factory.close()


def _fresh_login(server: Any, username: str = "staff") -> str:
    r = requests.post(server.api("/auth/login"), timeout=10,
                      json={"username": username, "password": server.passwords[username]})
    return str(ok(r)["token"])


def _sql(server: Any, statement: str, **params: Any) -> None:
    engine = create_engine(server.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def _ends_in_time(stream: SseReader, since: float) -> float:
    """`stream` (its snapshot already read) ends within the window from `since`."""
    assert stream.ended.wait(CACHE + SLACK + 3), "the stream kept running"
    took = time.monotonic() - since
    assert took <= CACHE + SLACK, f"the stream ended {took:.1f} s after, not within {CACHE} s"
    return took


def _still_live(stream: SseReader, server: Any) -> None:
    """A stream with a good credential outlives the window and still gets events."""
    ok(issue(server, service="moving"), 201)
    stream.next("ticket.issued", timeout=10)
    assert not stream.ended.is_set()


def test_revoking_a_device_ends_its_open_stream(limited):
    admin = limited.session("admin")
    device = ok(admin.post(limited.api("/admin/devices"), json={
        "name": f"display-{uuid.uuid4().hex[:6]}", "kind": "display", "ward": "kita"}), 201)
    doomed = SseReader(limited.api("/events?ward=kita"), device["token"])
    other = SseReader(limited.api("/events?ward=kita"), limited.display_token)
    try:
        doomed.next("snapshot")
        other.next("snapshot")
        since = time.monotonic()
        assert admin.delete(limited.api(f"/admin/devices/{device['id']}")).status_code == 204
        _ends_in_time(doomed, since)
        _still_live(other, limited)
        with pytest.raises(AssertionError, match="401"):
            SseReader(limited.api("/events?ward=kita"), device["token"])
    finally:
        doomed.close()
        other.close()


def test_logout_ends_the_sessions_stream_not_anothers(limited):
    token, kept = _fresh_login(limited), _fresh_login(limited)
    doomed = SseReader(limited.api("/events?ward=kita"), token)
    other = SseReader(limited.api("/events?ward=kita"), kept)
    try:
        doomed.next("snapshot")
        since = time.monotonic()
        r = requests.post(limited.api("/auth/logout"), timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 204
        _ends_in_time(doomed, since)
        other.next("snapshot")
        _still_live(other, limited)
    finally:
        doomed.close()
        other.close()


def test_an_expired_session_or_disabled_account_ends_the_stream(limited):
    token = _fresh_login(limited)
    expiring = SseReader(limited.api("/events?ward=kita"), token)
    try:
        expiring.next("snapshot")
        since = time.monotonic()
        _sql(limited, "UPDATE sessions SET expires_at = :past WHERE token_hash = :key",
             past="2000-01-01 00:00:00.000000", key=hash_token(token))
        _ends_in_time(expiring, since)
    finally:
        expiring.close()
    disabled = SseReader(limited.api("/events?ward=kita"), _fresh_login(limited, "supervisor"))
    try:
        disabled.next("snapshot")
        since = time.monotonic()
        _sql(limited, "UPDATE staff SET active = :no WHERE username = 'supervisor'", no=False)
        _ends_in_time(disabled, since)
    finally:
        disabled.close()
        _sql(limited, "UPDATE staff SET active = :yes WHERE username = 'supervisor'", yes=True)


def test_an_open_stream_does_not_keep_its_session_from_going_idle(limited):
    """A console left open holds a stream; its re-checks are not the clerk's use, so the
    session still goes idle and the stream ends with it."""
    token = _fresh_login(limited)
    stream = SseReader(limited.api("/events?ward=kita"), token)
    old = "2000-01-01 00:00:00.000000"
    try:
        stream.next("snapshot")
        # used 29 minutes ago (idle_minutes is 30): several re-checks must not move it
        _sql(limited, "UPDATE sessions SET last_seen = :t WHERE token_hash = :key",
             t=(utcnow() - timedelta(minutes=29)).strftime("%Y-%m-%d %H:%M:%S.%f"),
             key=hash_token(token))
        time.sleep(CACHE * 2 + SLACK)
        assert not stream.ended.is_set()
        engine = create_engine(limited.db_url)
        try:
            with engine.connect() as conn:
                seen = conn.execute(text("SELECT last_seen FROM sessions WHERE token_hash = :k"),
                                    {"k": hash_token(token)}).scalar_one()
        finally:
            engine.dispose()
        seen = seen if isinstance(seen, datetime) else datetime.fromisoformat(seen)
        assert utcnow() - seen > timedelta(minutes=28), \
            "the stream's re-checks counted as the clerk's use"
        since = time.monotonic()
        _sql(limited, "UPDATE sessions SET last_seen = :t WHERE token_hash = :key",
             t=old, key=hash_token(token))
        _ends_in_time(stream, since)
    finally:
        stream.close()


def test_a_phone_stream_ends_with_its_tickets_token(limited):
    t = ok(issue(limited, service="certificates"), 201)
    phone = SseReader(limited.api(f"/status/{t['status_token']}/events"))
    try:
        phone.next("snapshot")
        since = time.monotonic()
        _sql(limited, "UPDATE tickets SET status_token = :other WHERE id = :id",
             other=uuid.uuid4().hex * 2, id=t["id"])  # how the token ends is not ours here
        _ends_in_time(phone, since)
    finally:
        phone.close()


def test_streams_over_the_caps_are_refused(limited):
    time.sleep(0.5)  # the earlier tests' streams, closed by the client, leave the server
    token = _fresh_login(limited)
    first = [SseReader(limited.api("/events?ward=kita"), token) for _ in range(2)]
    try:
        with pytest.raises(AssertionError, match=r"429.*too_many_streams"):
            SseReader(limited.api("/events?ward=kita"), token)
        t = ok(issue(limited, service="certificates"), 201)
        phones = [SseReader(limited.api(f"/status/{t['status_token']}/events"))
                  for _ in range(2)]
        with pytest.raises(AssertionError, match="429"):
            SseReader(limited.api(f"/status/{t['status_token']}/events"))
        # 4 open: two more from other credentials fill the server's 6, the 7th waits.
        more = [SseReader(limited.api("/events?ward=kita"), _fresh_login(limited))
                for _ in range(2)]
        with pytest.raises(AssertionError, match=r"503.*streams_full"):
            SseReader(limited.api("/events?ward=kita"), _fresh_login(limited))
        for s in phones + more:
            s.close()
    finally:
        for s in first:
            s.close()
    # Closed streams give their places back.
    deadline = time.monotonic() + 5
    while True:
        try:
            again = SseReader(limited.api("/events?ward=kita"), token)
            break
        except AssertionError:
            assert time.monotonic() < deadline, "closed streams kept their places"
            time.sleep(0.1)
    again.close()


def test_last_event_id_zero_gets_a_snapshot_not_the_history(limited):
    staff = limited.session("staff")
    for _ in range(6):  # more than replay_limit (5) events
        ok(issue(limited, service="family"), 201)
    stream = SseReader(limited.api("/events?ward=kita"), limited.display_token,
                       headers={"Last-Event-ID": "0"})
    try:
        name, snap = stream.next()
        assert name == "snapshot"
        last = snap["last_event_id"]
    finally:
        stream.close()
    t = ok(issue(limited, service="family"), 201)
    ok(staff.post(limited.api(f"/tickets/{t['id']}/cancel")))
    small = SseReader(limited.api("/events?ward=kita"), limited.display_token,
                      headers={"Last-Event-ID": str(last)})
    try:  # a small gap is still replayed
        assert small.next()[0] == "ticket.issued"
        assert small.next()[0] == "ticket.cancelled"
    finally:
        small.close()
    future = SseReader(limited.api("/events?ward=kita"), limited.display_token,
                       headers={"Last-Event-ID": str(last + 10**6)})
    try:  # an id the server never sent: the truth, not silence
        assert future.next()[0] == "snapshot"
    finally:
        future.close()


def test_a_large_gap_reads_no_event_rows(tmp_path):
    """The replay decision costs one index look-up: no row of the trail is read when the
    gap is larger than replay_limit (queue.replay_events would read limit + 1 rows)."""
    import asyncio
    from dataclasses import replace

    from sqlalchemy import event

    from kiosk.backoffice import live
    from kiosk.backoffice.events import Subscription
    from tests.backoffice.conftest import make_backoffice, new_ticket

    bo = make_backoffice(f"sqlite:///{tmp_path / 'bo.sqlite3'}")
    bo.settings = replace(bo.settings, events=replace(bo.settings.events, replay_limit=3))
    for _ in range(5):
        new_ticket(bo)
    statements: list[str] = []
    event.listen(bo.engine, "before_cursor_execute",
                 lambda _c, _cur, stmt, *_a: statements.append(stmt))

    def snapshot() -> tuple[dict[str, Any], int]:
        return {"snapshot": True}, 0

    sub = Subscription(ward="kita")
    first, _ = asyncio.run(live._opening(bo, sub, 0, snapshot))
    assert first[0].startswith(b"event: snapshot")
    assert not any("ticket_events.data" in s for s in statements), statements
    bo.engine.dispose()


@pytest.mark.parametrize(("events", "key"), [
    ({"max_streams_per_credential": 0}, "events.max_streams_per_credential"),
    ({"max_streams_total": "many"}, "events.max_streams_total"),
    ({"replay_limit": 1_000_000}, "events.replay_limit"),
    ({"status_recheck_seconds": 0}, "events.status_recheck_seconds"),
    ({"position_every_seconds": 0}, "events.position_every_seconds"),
])
def test_stream_settings_are_checked(events: dict[str, Any], key: str) -> None:
    from kiosk.backoffice.config import Settings
    from kiosk.domain.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        Settings.from_mapping({"events": events}, file="config/backoffice.toml")
    assert err.value.key == key
