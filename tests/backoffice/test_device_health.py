"""Device health (issue #20) through a real back-office process: a kiosk's heartbeat
becomes problems and the alarm, a silent device turns stale, the supervisor's stream
sends each change, the history keeps changes only and forgets them after
[devices] history_days; a supervisor of another ward is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import func, insert, select, update

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import make_engine
from tests.backoffice.accounts import create_account, device_id, sign_in
from tests.backoffice.conftest import SseReader, ok

PAPER_OUT = {"status": "degraded", "version": "1.2.3", "outbox_pending": 2,
             "uptime_seconds": 3600, "last_sync": "2026-12-04T10:00:00+00:00",
             "components": {"printer": "paper_out", "card_reader": "ok",
                            "disk_free_mb": "4096"}}
FINE = {**PAPER_OUT, "status": "ok",
        "components": {"printer": "ok", "card_reader": "ok", "disk_free_mb": "4096"}}


def beat(server: Any, body: dict[str, Any], who: str = "kiosk") -> None:
    ok(requests.post(server.api("/device/heartbeat"), json=body, timeout=10,
                     headers={"Authorization": f"Bearer {server.token(who)}"}))


def health(server: Any, who: str = "supervisor", ward: str = "kita") -> requests.Response:
    return server.session(who).get(server.api("/devices/health"), params={"ward": ward},
                                   timeout=10)


def kiosk_of(view: dict[str, Any], name: str = "kiosk-kita-1") -> dict[str, Any]:
    return next(d for d in view["devices"] if d["name"] == name)


def history_rows(server: Any, device: int) -> int:
    engine = make_engine(server.db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(m.device_reports).where(
                m.device_reports.c.device_id == device)).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, backoffice_factory: Any) -> Any:
    return backoffice_factory.start(None if request.param == "sqlite" else "postgres",
                                    config={"devices": {"stale_seconds": 60,
                                                        "history_days": 7}})


def test_heartbeat_problems_alarm_stale_and_history(server: Any) -> None:
    view = ok(health(server))
    kiosk = kiosk_of(view)
    assert kiosk["problems"] == ["never_seen"] and view["alarm"]

    beat(server, PAPER_OUT)
    kiosk = kiosk_of(ok(health(server)))
    assert kiosk["problems"] == ["printer:paper_out"] and kiosk["alarm"]
    assert (kiosk["version"], kiosk["outbox_pending"], kiosk["uptime_seconds"],
            kiosk["disk_free_mb"]) == ("1.2.3", 2, 3600, 4096)
    assert kiosk["last_sync"] == "2026-12-04T10:00:00Z"   # as pydantic writes UTC
    assert kiosk["components"] == {"printer": "paper_out", "card_reader": "ok"}

    # The same report again is no news for the history; the fix is.
    me = device_id(server, "kiosk-kita-1")
    beat(server, PAPER_OUT)
    assert history_rows(server, me) == 1
    beat(server, FINE)
    assert history_rows(server, me) == 2
    reports = ok(server.session("supervisor").get(server.api(f"/devices/{me}/reports"),
                                                  timeout=10))
    assert [r["problems"] for r in reports] == [[], ["printer:paper_out"]]
    assert kiosk_of(ok(health(server)))["problems"] == []

    # Silent for longer than stale_seconds: the alarm, without any report.
    engine = make_engine(server.db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(update(m.devices).where(m.devices.c.id == me).values(
                last_seen=utcnow() - timedelta(seconds=61)))
            # a change older than history_days: gone at the device's next heartbeat
            conn.execute(insert(m.device_reports).values(
                device_id=me, ward="kita", at=utcnow() - timedelta(days=8), status="ok",
                problems=[], report={}))
    finally:
        engine.dispose()
    assert kiosk_of(ok(health(server)))["problems"] == ["stale"]
    assert history_rows(server, me) == 3
    beat(server, FINE)
    assert history_rows(server, me) == 2
    assert kiosk_of(ok(health(server)))["problems"] == []


def test_a_heartbeat_that_is_wrong_is_refused_whole(server: Any) -> None:
    r = requests.post(server.api("/device/heartbeat"), timeout=10,
                      json={**FINE, "uptime_seconds": -1},
                      headers={"Authorization": f"Bearer {server.token('kiosk')}"})
    assert r.status_code == 422
    r = requests.post(server.api("/device/heartbeat"), timeout=10,
                      json={**FINE, "last_sync": "yesterday"},
                      headers={"Authorization": f"Bearer {server.token('kiosk')}"})
    assert r.status_code == 422


def test_the_stream_sends_each_change_and_only_to_the_ward(server: Any) -> None:
    stream = SseReader(server.api("/devices/health/stream?ward=kita"),
                       server.token("supervisor"))
    try:
        _, first = stream.next("devices")
        assert kiosk_of(first)["problems"] == ["never_seen"]
        beat(server, PAPER_OUT)
        _, changed = stream.next("devices", timeout=10)
        assert kiosk_of(changed)["problems"] == ["printer:paper_out"]
        beat(server, {"status": "ok", "version": "display-web"}, who="display")
        _, alive = stream.next("devices", timeout=10)
        assert kiosk_of(alive, "display-kita-1")["problems"] == []
    finally:
        stream.close()

    naka = sign_in(server, "sv-naka", create_account(server, "sv-naka", "supervisor", "naka"))
    url = server.api("/devices/health")
    assert naka.get(url, params={"ward": "kita"}, timeout=10).status_code == 403
    assert ok(naka.get(url, params={"ward": "naka"}, timeout=10))["ward"] == "naka"


def test_the_purge_forgets_history_past_its_days(bo: Any) -> None:
    """[devices] history_days, by the server's purge loop (retention.purge_loop), also for a
    device that no longer reports."""
    from kiosk.backoffice import device_health
    from kiosk.backoffice.db import writing

    with writing(bo.engine) as conn:
        device = conn.execute(select(m.devices.c.id).where(
            m.devices.c.name == "kiosk-kita-1")).scalar_one()
        for days in (31, 29):
            conn.execute(insert(m.device_reports).values(
                device_id=device, ward="kita", at=utcnow() - timedelta(days=days),
                status="ok", problems=[], report={}))
    assert device_health.prune(bo) == 1
    assert device_health.prune(bo) == 0
    assert len(device_health.history(bo, device, 10)) == 1


# --- a payment terminal: a device of its own ---------------------------------------------

TERMINAL_FINE = {"status": "ok", "version": "term-2.1",
                 "last_transaction_at": "2026-12-04T10:05:00+09:00",
                 "components": {"payment_terminal": "ok"}}


def enrol_terminal(server: Any, name: str = "terminal-kita-1") -> tuple[int, str]:
    made = ok(server.session("admin").post(server.api("/admin/devices"), timeout=10,
                                           json={"name": name, "kind": "terminal",
                                                 "ward": "kita"}), 201)
    return int(made["id"]), str(made["token"])


def terminal_beat(server: Any, token: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(server.api("/device/heartbeat"), json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}"})


def test_a_payment_terminal_reports_on_its_own_and_only_that(backoffice: Any) -> None:
    server = backoffice
    number, token = enrol_terminal(server)
    assert kiosk_of(ok(health(server)), "terminal-kita-1")["problems"] == ["never_seen"]
    ok(terminal_beat(server, token, TERMINAL_FINE))
    seen = kiosk_of(ok(health(server)), "terminal-kita-1")
    assert (seen["kind"], seen["alarm"], seen["last_transaction_at"]) == \
        ("terminal", False, "2026-12-04T10:05:00+09:00")
    ok(terminal_beat(server, token, {**TERMINAL_FINE, "status": "error",
                                     "components": {"payment_terminal": "offline"},
                                     "errors": ["nexo:1005"]}))
    seen = kiosk_of(ok(health(server)), "terminal-kita-1")
    assert seen["problems"] == ["status:error", "payment_terminal:offline",
                                "terminal_error:nexo:1005"] and seen["alarm"]
    # no amounts, no free-text error (it could carry a name or a card number)
    assert terminal_beat(server, token, {**TERMINAL_FINE, "amount_yen": 300}).status_code == 422
    assert terminal_beat(server, token, {**TERMINAL_FINE,
                                         "errors": ["card 4111 1111"]}).status_code == 422
    # it may report, nothing else: not the config, not a ticket
    bearer = {"Authorization": f"Bearer {token}"}
    assert requests.get(server.api("/device/config"), headers=bearer,
                        timeout=10).status_code == 403
    assert requests.post(server.api("/tickets"), headers=bearer, timeout=10,
                         json={"service": "certificates"}).status_code == 403
    # rotated and revoked like kiosks and displays
    admin = server.session("admin")
    fresh = ok(admin.post(server.api(f"/admin/devices/{number}/rotate-token"), timeout=10))
    assert terminal_beat(server, token, TERMINAL_FINE).status_code == 401
    ok(terminal_beat(server, fresh["token"], TERMINAL_FINE))
    ok(admin.delete(server.api(f"/admin/devices/{number}"), timeout=10), 204)
    assert terminal_beat(server, fresh["token"], TERMINAL_FINE).status_code == 401
    # a terminal without a token of its own: still reported through its kiosk
    beat(server, {**FINE, "components": {**FINE["components"], "payment_terminal": "offline"}})
    assert "payment_terminal:offline" in kiosk_of(ok(health(server)))["problems"]


def test_the_terminal_agent_reports_the_stand_in_terminal(backoffice: Any) -> None:
    """The agent beside a terminal (kiosk/payment/terminal_agent.py) asks the stand-in nexo
    terminal and reports with the terminal's own token: alive with its last transaction's
    time, its maintenance status, then offline — each on the supervisor's view."""
    import threading

    from hardware.payment.terminal import TerminalServer, TerminalState
    from kiosk.payment import terminal_agent
    from kiosk.payment.terminal import NexoTcpTerminal

    server = backoffice
    _, token = enrol_terminal(server)
    stand_in = TerminalServer(("127.0.0.1", 0), TerminalState(poi_id="T-7"))
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    terminal = NexoTcpTerminal("127.0.0.1", stand_in.server_address[1], sale_id="k1",
                               connect_timeout_s=1.0)

    def seen() -> dict[str, Any]:
        terminal_agent.send(server.url, token, terminal_agent.report(terminal))
        return kiosk_of(ok(health(server)), "terminal-kita-1")

    try:
        first = seen()
        assert (first["alarm"], first["last_transaction_at"]) == (False, None)
        paid = terminal.pay("svc-1", "p-1", 300, threading.Event())
        after = seen()
        assert after["last_transaction_at"] is not None and not after["alarm"]
        assert after["last_transaction_at"][:19] == paid.timestamp[:19]   # to the second
        stand_in.state.status = "Maintenance"
        assert seen()["problems"] == ["payment_terminal:maintenance"]
    finally:
        stand_in.shutdown()
        stand_in.server_close()
    assert seen()["problems"] == ["status:error", "payment_terminal:offline"]
