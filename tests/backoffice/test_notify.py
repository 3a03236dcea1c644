"""Notifications end to end (issue #19): the real back-office (SQLite; one run on
PostgreSQL) with the push service stand-in (hardware/push_service.py: checks VAPID, decrypts
RFC 8291) and a local SMTP server. Subscriptions are made here the way a browser does
(fresh P-256 keys + auth secret, the office's VAPID key as applicationServerKey) and sent
to the phone page's endpoint; Chromium's own PushManager needs its vendor's push service,
which a closed network does not have (the page's buttons: tests/web/test_notify_browser.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from hardware.push_service import BrowserSubscription, PushService
from tests.backoffice.conftest import issue, ok
from tests.support.backoffice import BackofficeServer, ServerFactory
from tests.support.notify import Mailbox, mailbox, notify_config, push_service  # noqa: F401
from tests.support.postgres import free_port

pytestmark = pytest.mark.slow


def start(factory: ServerFactory, tmp_path: Path, push: PushService, box: Mailbox,
          db: str | None = None, **extra: Any) -> tuple[BackofficeServer, str]:
    config, public = notify_config(tmp_path, push, box, **extra)
    return factory.start(db, config=config), public


def token_of(ticket: dict[str, Any]) -> str:
    return str(ticket["status_url"]).rsplit("/", 1)[-1]


def subscribe_push(server: BackofficeServer, push: PushService, public: str,
                   ticket: dict[str, Any], language: str = "en") -> BrowserSubscription:
    sub = push.subscribe(public)
    ok(requests.put(server.api(f"/status/{token_of(ticket)}/notifications/push"),
                    json={**sub.to_json(), "language": language}, timeout=10))
    return sub


def call_next(server: BackofficeServer, counter: int = 1) -> dict[str, Any] | None:
    s = server.session("staff")
    r = s.post(server.api(f"/wards/kita/counters/{counter}/call-next"), timeout=10)
    assert r.status_code in (200, 204), r.text
    current = r.json() if r.status_code == 200 and r.content else None
    if current and current.get("ticket"):
        current = current["ticket"]
    if current and current.get("id"):  # free the counter for the next call
        for action in ("start", "complete"):
            ok(s.post(server.api(f"/tickets/{current['id']}/{action}"), timeout=10))
    return current


def outbox(server: BackofficeServer) -> list[Any]:
    from sqlalchemy import create_engine

    from kiosk.backoffice import models as m

    engine = create_engine(server.db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(m.notify_outbox).order_by(m.notify_outbox.c.id)))
    finally:
        engine.dispose()


def wait_until(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _push_journey(server: BackofficeServer, push: PushService, public: str) -> None:
    tickets = [ok(issue(server), 201) for _ in range(6)]
    mine = tickets[5]                       # five ahead: more than [notify] ahead (3)
    sub = subscribe_push(server, push, public, mine, language="en")
    assert push.messages(sub) == []
    state = ok(requests.get(server.api(f"/status/{token_of(mine)}/notifications"), timeout=10))
    assert state["push"] is True and state["vapid_public_key"] == public
    call_next(server)                       # 4 ahead: nothing yet
    call_next(server)                       # 3 ahead: "N ahead"
    got = push.wait_for(sub, 1)
    assert len(got) == 1, (got, push.refused)
    assert got[0]["kind"] == "ahead" and mine["number"] in got[0]["body"]
    assert "3 people ahead" in got[0]["body"], got[0]
    for _ in range(3):
        call_next(server)                   # 2, 1, 0 ahead: once only
    s = server.session("staff")
    called = ok(s.post(server.api("/wards/kita/counters/2/call-next"), timeout=10))
    called = called.get("ticket", called)
    assert called["id"] == mine["id"]
    got = push.wait_for(sub, 2)
    assert [g["kind"] for g in got] == ["ahead", "called"], got
    assert got[1]["title"] == "You are being called"
    assert got[1]["body"].startswith(f"Ticket {mine['number']}, please come to counter 2")
    assert not push.refused


def test_push_ahead_and_called_reach_the_push_service_decrypted(
        backoffice_factory: ServerFactory, tmp_path: Path, push_service: PushService,  # noqa: F811
        mailbox: Mailbox) -> None:  # noqa: F811
    server, public = start(backoffice_factory, tmp_path, push_service, mailbox)
    _push_journey(server, push_service, public)
    log = server.log_text()
    assert "push/" not in log and "@" not in log, log[-2000:]  # no endpoint, no address


@pytest.mark.postgres
def test_push_journey_on_postgresql(backoffice_factory: ServerFactory, tmp_path: Path,
                                    push_service: PushService,  # noqa: F811
                                    mailbox: Mailbox) -> None:  # noqa: F811
    server, public = start(backoffice_factory, tmp_path, push_service, mailbox, "postgres")
    _push_journey(server, push_service, public)


def test_email_opt_in_sends_ahead_and_called_in_the_residents_language(
        backoffice_factory: ServerFactory, tmp_path: Path, push_service: PushService,  # noqa: F811
        mailbox: Mailbox) -> None:  # noqa: F811
    server, _public = start(backoffice_factory, tmp_path, push_service, mailbox)
    first = ok(issue(server), 201)
    mine = ok(issue(server), 201)         # one ahead: "N ahead" at once on opting in
    address = "resident-1@example.org"
    ok(requests.put(server.api(f"/status/{token_of(mine)}/notifications/email"),
                    json={"address": address, "language": "ja"}, timeout=10))
    mails = mailbox.wait_for(address, 1)
    assert mails and mails[0].subject == "まもなく順番です", mails
    assert f"受付番号 {mine['number']}: あなたの前はあと 1 人です" in mails[0].body
    assert call_next(server)["id"] == first["id"]
    assert call_next(server)["id"] == mine["id"]
    mails = mailbox.wait_for(address, 2)
    assert mails[1].subject == "お呼び出しです"
    assert f"受付番号 {mine['number']} の方、1 番窓口へお越しください" in mails[1].body
    # nothing personal in a text: the number, counter, ward and service only
    assert "@" not in mails[1].body
    # opting out stops it, and the address is gone
    ok(requests.delete(server.api(f"/status/{token_of(mine)}/notifications/email"), timeout=10))
    state = ok(requests.get(server.api(f"/status/{token_of(mine)}/notifications"), timeout=10))
    assert state["email"] is False


def test_booking_confirmation_and_reminder_then_the_address_is_deleted(
        backoffice_factory: ServerFactory, tmp_path: Path, push_service: PushService,  # noqa: F811
        mailbox: Mailbox) -> None:  # noqa: F811
    from kiosk.backoffice import models as m
    from kiosk.backoffice.engine import notify
    from tests.backoffice.conftest import make_backoffice_no_prepare

    server, _public = start(backoffice_factory, tmp_path, push_service, mailbox)
    base = server.api("/public/appointments")
    days = ok(requests.get(f"{base}/kita/certificates/days", timeout=10))["days"]
    day = next(d["day"] for d in days if d["free"] > 0)
    slot = next(s["start"] for s in ok(requests.get(
        f"{base}/kita/certificates/slots?day={day}", timeout=10))["slots"] if s["free"] > 0)
    held = ok(requests.post(f"{base}/holds", json={"ward": "kita", "service": "certificates",
                                                   "slot": slot}, timeout=10), 201)
    address = "booker@example.org"
    ok(requests.post(f"{base}/confirm", json={"code": held["code"], "contact": address},
                     timeout=10))
    mails = mailbox.wait_for(address, 1)
    assert mails and mails[0].subject == "予約を受け付けました", mails
    assert "証明" in mails[0].body or "certificates" in mails[0].body
    assert held["code"] not in mails[0].body   # the code stays with the resident
    # the evening before the slot (the worker's timer, a clock set on that evening)
    bo = make_backoffice_no_prepare(server.db_url)
    try:
        with bo.engine.connect() as conn:
            booking = conn.execute(select(m.appointments).where(
                m.appointments.c.code == held["code"])).one()
        evening = datetime.combine(booking.day - timedelta(days=1),
                                   datetime.min.time().replace(hour=18), tzinfo=bo.tz)
        assert notify.schedule_reminders(bo, evening.astimezone(UTC).replace(tzinfo=None)) == 1
        mails = mailbox.wait_for(address, 2)
        assert mails[1].subject == "明日はご予約の日です", mails
        assert "明日" in mails[1].body
        # once the reminder went, the address is deleted (the worker's purge)
        def gone() -> bool:
            with bo.engine.connect() as conn:
                return conn.execute(select(m.notify_subscriptions).where(
                    m.notify_subscriptions.c.appointment_id == booking.id)).first() is None
        assert wait_until(gone)
    finally:
        bo.engine.dispose()


def test_a_failing_push_service_gets_bounded_retries_and_never_holds_up_the_queue(
        backoffice_factory: ServerFactory, tmp_path: Path, push_service: PushService,  # noqa: F811
        mailbox: Mailbox) -> None:  # noqa: F811
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server, public = start(backoffice_factory, tmp_path, push_service, mailbox,
                           down_origin=down)
    mine = ok(issue(server), 201)
    sub = subscribe_push(server, push_service, public, mine)
    # a second phone subscribed on a push service that is down
    other = ok(issue(server), 201)
    dead = push_service.subscribe(public).to_json()
    dead["endpoint"] = down + "/push/nowhere"
    ok(requests.put(server.api(f"/status/{token_of(other)}/notifications/push"),
                    json=dead, timeout=10))
    push_service.fail_next(500, 100)         # and the good one answers 500 for now
    started = time.monotonic()
    assert call_next(server)["id"] == mine["id"]
    assert call_next(server)["id"] == other["id"]
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, elapsed            # the queue does not wait for deliveries
    rows = wait_until(lambda: [r for r in outbox(server) if r.status == "failed"
                               and r.kind == "called"] if len(
        [r for r in outbox(server) if r.status == "failed" and r.kind == "called"]) == 2
        else None)
    assert rows, outbox(server)
    assert all(r.attempts == 3 for r in rows)  # [notify] max_attempts
    counts = ok(server.session("supervisor").get(server.api("/wards/kita/notifications"),
                                                 timeout=10))["counts"]
    assert counts["failed"]["push"] >= 2
    push_service.fail_next(500, 0)
    assert push_service.messages(sub) == [m for m in push_service.messages(sub)
                                          if m["kind"] == "ahead"]


def test_a_gone_subscription_is_dropped(
        backoffice_factory: ServerFactory, tmp_path: Path, push_service: PushService,  # noqa: F811
        mailbox: Mailbox) -> None:  # noqa: F811
    server, public = start(backoffice_factory, tmp_path, push_service, mailbox)
    mine = ok(issue(server), 201)
    sub = subscribe_push(server, push_service, public, mine)
    push_service.expire(sub)                 # the browser unsubscribed: 410 Gone
    wait_until(lambda: [r for r in outbox(server) if r.status == "dropped"])
    state = ok(requests.get(server.api(f"/status/{token_of(mine)}/notifications"), timeout=10))
    assert state["push"] is False
    assert [r.attempts for r in outbox(server)] == [1]
    assert call_next(server)["id"] == mine["id"]   # the queue goes on; nothing to send to
    time.sleep(0.5)
    assert [r.kind for r in outbox(server)] == ["ahead"]


def test_bad_opt_ins_are_clear_4xx(
        backoffice_factory: ServerFactory, tmp_path: Path, push_service: PushService,  # noqa: F811
        mailbox: Mailbox) -> None:  # noqa: F811
    server, public = start(backoffice_factory, tmp_path, push_service, mailbox)
    mine = ok(issue(server), 201)
    url = server.api(f"/status/{token_of(mine)}/notifications")
    good = push_service.subscribe(public).to_json()
    cases = [
        ("push", {**good, "endpoint": "https://evil.example.org/push/x"}, 422,
         "unknown_push_service"),
        ("push", {**good, "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22}}, 422,
         "validation_error"),
        ("push", {**good, "keys": {"p256dh": good["keys"]["p256dh"]}}, 422, "validation_error"),
        ("push", {**good, "extra": 1}, 422, "validation_error"),
        ("email", {"address": "not-an-address"}, 422, "validation_error"),
        ("email", {"address": "a@example.org", "language": "<script>"}, 422,
         "validation_error"),
    ]
    for channel, body, status, code in cases:
        r = requests.put(f"{url}/{channel}", json=body, timeout=10)
        assert (r.status_code, r.json()["error"]) == (status, code), (body, r.text)
    r = requests.put(server.api("/status/" + "x" * 40 + "/notifications/email"),
                     json={"address": "a@example.org"}, timeout=10)
    assert r.status_code == 404
    r = requests.delete(f"{url}/sms", timeout=10)
    assert r.status_code == 422
    s = server.session("staff")
    ok(s.post(server.api(f"/tickets/{mine['id']}/cancel"), timeout=10))
    r = requests.put(f"{url}/email", json={"address": "a@example.org"}, timeout=10)
    assert (r.status_code, r.json()["error"]) == (409, "ticket_ended")
    assert requests.get(server.url + "/push-sw.js", timeout=10).headers[
        "content-type"].startswith("text/javascript")
