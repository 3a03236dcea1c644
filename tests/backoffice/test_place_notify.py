"""A place from home on the server's timer and its "check in by HH:MM" notice (issue #19):
the real back-office (SQLite; PostgreSQL in two processes), the push service
stand-in and the local SMTP server of tests/support/notify.py. Nobody reads the place after
opting in: `[remote] sweep_seconds` starts its clock and the worker delivers the notice,
once, though every process sweeps; the subscriptions go when the place is checked in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select

from hardware.push_service import PushService
from kiosk.backoffice import models as m
from tests.backoffice.conftest import issue, ok
from tests.backoffice.test_notify import call_next, outbox, start, wait_until
from tests.support.backoffice import BackofficeServer, ServerFactory
from tests.support.notify import Mailbox, mailbox, push_service  # noqa: F401

pytestmark = pytest.mark.slow
N = "/public/remote/notifications"


def place_row(server: BackofficeServer, code: str) -> Any:
    engine = create_engine(server.db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            place = conn.execute(select(m.remote_places).where(
                m.remote_places.c.code == code)).one()
            subs = conn.execute(select(m.notify_subscriptions.c.id).where(
                m.notify_subscriptions.c.remote_place_id == place.id)).all()
            return place, len(subs)
    finally:
        engine.dispose()


def _journey(server: BackofficeServer, push: PushService, public: str, box: Mailbox) -> None:
    for _ in range(6):  # a wait longer than the catalog's 10 minutes
        ok(issue(server), 201)
    place = ok(requests.post(server.api("/public/remote/take"), json={
        "ward": "kita", "service": "certificates", "language": "en"}, timeout=10), 201)
    code = place["code"]
    assert place["people_ahead"] == 6 and place["check_in_by"] is None
    sub = push.subscribe(public)
    ok(requests.post(server.api(f"{N}/push"), json={**sub.to_json(), "code": code,
                                                    "language": "en"}, timeout=10))
    address = "place-1@example.org"
    ok(requests.post(server.api(f"{N}/email"), json={"code": code, "address": address,
                                                     "language": "ja"}, timeout=10))
    state = ok(requests.post(server.api(N), json={"code": code}, timeout=10))
    assert state["push"] and state["email"] and state["vapid_public_key"] == public
    for _ in range(5):                  # 1 ahead: [remote] almost_ahead — nobody looks
        call_next(server)
    got = push.wait_for(sub, 1)
    assert [g["kind"] for g in got] == ["almost"], (got, push.refused)
    row, subs = place_row(server, code)
    assert row.almost_at is not None and subs == 2  # the timer started the clock
    assert got[0]["title"] == "Your turn is coming up"
    assert "please check in at a kiosk by" in got[0]["body"], got[0]
    mails = box.wait_for(address, 1)
    assert mails and mails[0].subject == "もうすぐ順番です", mails
    assert "までに受付機で受付してください" in mails[0].body
    by = ok(requests.post(server.api("/public/remote/find"), json={"code": code},
                          timeout=10))["check_in_by"][11:16]
    assert by in got[0]["body"] and by in mails[0].body
    for text in (got[0]["body"], mails[0].body):  # nothing personal, not the code
        assert code not in text and "@" not in text
    # swept many times (two processes on PostgreSQL): the notice went once per subscription
    assert sorted(r.channel for r in outbox(server) if r.kind == "almost") == ["email", "push"]
    # checked in at the kiosk: the place ends and its subscriptions are purged
    ok(server.session("kiosk").post(server.api("/remote/check-in"), json={"code": code},
                                    timeout=10))
    assert wait_until(lambda: place_row(server, code)[1] == 0)
    r = requests.post(server.api(f"{N}/email"), json={"code": code, "address": address},
                      timeout=10)
    assert r.status_code == 409 and r.json()["error"] == "place_ended", r.text
    log = server.log_text()
    assert "push/" not in log and "@" not in log, log[-2000:]


def test_the_timer_starts_a_places_clock_and_its_notice_goes_once(
        backoffice_factory: ServerFactory, tmp_path: Path, push_service: PushService,  # noqa: F811
        mailbox: Mailbox) -> None:  # noqa: F811
    config, public = _config(tmp_path, push_service, mailbox)
    server = backoffice_factory.start(config=config)  # SQLite: one process
    _journey(server, push_service, public, mailbox)


@pytest.mark.postgres
def test_the_same_on_postgresql(backoffice_factory: ServerFactory, tmp_path: Path,
                                push_service: PushService,  # noqa: F811
                                mailbox: Mailbox) -> None:  # noqa: F811
    config, public = _config(tmp_path, push_service, mailbox)
    server = backoffice_factory.start("postgres", config=config, workers=2)
    _journey(server, push_service, public, mailbox)


def test_the_opt_in_by_code_refuses_what_it_should(
        backoffice_factory: ServerFactory, tmp_path: Path, push_service: PushService,  # noqa: F811
        mailbox: Mailbox) -> None:  # noqa: F811
    server, _public = start(backoffice_factory, tmp_path, push_service, mailbox,
                            push_services=[push_service.origin + "/"])
    for _ in range(6):
        ok(issue(server), 201)
    code = ok(requests.post(server.api("/public/remote/take"), json={
        "ward": "kita", "service": "certificates"}, timeout=10), 201)["code"]
    cases = [(N, {"code": "ZZZZZZZZZZ"}, 404), (f"{N}/email", {"code": code}, 422),
             (f"{N}/email", {"code": code, "address": "not-an-address"}, 422),
             (f"{N}/email", {"code": code, "address": "a@b.example", "x": 1}, 422),
             (f"{N}/push", {"code": code, "endpoint": "https://evil.example/push/x",
                            "keys": {"p256dh": "B" * 87, "auth": "A" * 22}}, 422),
             (f"{N}/stop", {"code": code, "channel": "sms"}, 422)]
    for path, body, status in cases:
        r = requests.post(server.api(path), json=body, timeout=10)
        assert r.status_code == status, (path, body, r.status_code, r.text)
    page = requests.post(server.url + "/queue/notify", timeout=10,
                         data={"code": code, "address": "nope", "lang": "en"})
    assert page.status_code == 422 and "That e-mail address is not valid" in page.text
    r = requests.post(server.api(f"{N}/email"), json={"code": code, "address": "a@b.example"},
                      timeout=10)
    assert r.status_code == 200 and "no-store" in r.headers.get("cache-control", ""), r.headers
    stop = ok(requests.post(server.api(f"{N}/stop"), json={"code": code, "channel": "email"},
                            timeout=10))
    assert stop["subscribed"] is False
    assert ok(requests.post(server.api(N), json={"code": code}, timeout=10))["email"] is False


def _config(tmp_path: Path, push: PushService, box: Mailbox) -> tuple[dict[str, Any], str]:
    from tests.support.notify import notify_config

    config, public = notify_config(tmp_path, push, box)
    return {**config, "remote": {"sweep_seconds": 0.2, "almost_ahead": 1}}, public
