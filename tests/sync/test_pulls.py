"""What the kiosk learns from the back-office and tells it, against a real back-office:
configuration, opening state (hours and the manual open/closed switch), wait estimates,
the heartbeat with device health; and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.sync import IssueRefused
from tests.sync.conftest import Kiosks
from tests.sync.faultproxy import wait_until


def _supervisor_put_state(server: Any, state: str) -> None:
    s = server.session("supervisor")
    r = s.put(f"{server.url}/api/v1/wards/kita/state", json={"state": state}, timeout=5)
    assert r.status_code == 200, r.text


def test_pulls_heartbeat_and_closing(backoffice: Any, kiosks: Kiosks) -> None:
    link = kiosks.make(backoffice.url, backoffice.kiosk_token, waits=0.2, heartbeat=0.2)
    assert link.catalog().source == "GET /device/config"
    assert wait_until(lambda: link.opening_state().source == "backoffice", 10)
    assert link.opening_state().open            # the test back-office ignores the hours

    # Device health reaches the back-office (the supervisor's device list).
    link.report_health(printer="paper_low", card_reader="ok", disk_free_mb=812)

    def reported() -> bool:
        devices = backoffice.session("supervisor").get(
            f"{backoffice.url}/api/v1/devices", timeout=5).json()
        kiosk = next(d for d in devices if d["name"] == "kiosk-kita-1")
        hb = kiosk.get("heartbeat") or {}
        return (hb.get("components") or {}).get("printer") == "paper_low"
    assert wait_until(reported, 10)

    # Wait estimates follow the queue.
    for _ in range(3):
        link.issue_ticket("certificates")
    assert wait_until(lambda: (w := link.wait_estimates().get("certificates")) is not None
                      and w.waiting == 3 and w.fresh and w.minutes is not None, 10)

    # The supervisor closes the ward: the kiosk shows closed, the back-office refuses.
    _supervisor_put_state(backoffice, "closed")
    assert wait_until(lambda: not link.opening_state().open, 10)
    with pytest.raises(IssueRefused) as info:
        link.issue_ticket("certificates")
    assert info.value.code == "ward_closed"
    _supervisor_put_state(backoffice, "auto")
    assert wait_until(lambda: link.opening_state().open, 10)
    assert link.status().dead == 0


def test_refusals_issue_nothing(backoffice: Any, kiosks: Kiosks) -> None:
    link = kiosks.make(backoffice.url, backoffice.kiosk_token)
    with pytest.raises(IssueRefused) as info:
        link.issue_ticket("no-such-service")
    assert info.value.code == "unknown_service"
    with pytest.raises(IssueRefused) as info:
        link.issue_ticket("moving", "juminhyo")          # procedure of another service
    assert link.status().pending == 0
    from tests.sync.check import kiosk_tickets
    assert kiosk_tickets(kiosks.dbs[0]) == {}


def test_revoked_token_keeps_everything(backoffice: Any, kiosks: Kiosks) -> None:
    link = kiosks.make(backoffice.url, backoffice.kiosk_token)
    before = link.issue_ticket("certificates")
    assert not before.offline
    admin = backoffice.session("admin")
    devices = admin.get(f"{backoffice.url}/api/v1/devices", timeout=5).json()
    kiosk_id = next(d["id"] for d in devices if d["name"] == "kiosk-kita-1")
    assert admin.delete(f"{backoffice.url}/api/v1/admin/devices/{kiosk_id}",
                        timeout=5).status_code == 204

    def refused() -> bool:
        return backoffice.session("kiosk").get(f"{backoffice.url}/api/v1/device/config",
                                               timeout=5).status_code == 401
    assert wait_until(refused, 10)
    # A resident still gets a ticket; nothing is dropped while a maintainer re-provisions.
    after = link.issue_ticket("certificates")
    assert after.offline
    assert wait_until(lambda: link.status().pending == 1 and not link.online, 5)
    assert link.status().dead == 0


def test_a_new_catalog_version_reaches_the_kiosk_at_its_next_sync(backoffice: Any,
                                                                   kiosks: Kiosks) -> None:
    """Issue #20: an admin changes a fee; the kiosk's next heartbeat sees the new config
    version and pulls it; the session takes it only once the visit under way has ended."""
    from kiosk.configfile import load_catalog
    from kiosk.domain.session import Session, SessionSettings

    link = kiosks.make(backoffice.url, backoffice.kiosk_token, heartbeat=0.2)
    pulled: list[str] = []
    link.subscribe(pulled.append)
    assert wait_until(lambda: link.catalog().source == "GET /device/config", 10)
    session = Session(link.catalog(), "kita", SessionSettings(), now=0.0)
    session.start(1)
    session.choose_procedure("juminhyo", 2)
    fee = link.catalog().procedure("juminhyo").fee_yen
    assert fee == load_catalog().procedure("juminhyo").fee_yen
    r = backoffice.session("admin").patch(
        f"{backoffice.url}/api/v1/admin/catalog/procedures/juminhyo",
        json={"fee_yen": fee + 100}, timeout=10)
    assert r.status_code == 200, r.text
    assert wait_until(lambda: link.catalog().procedure("juminhyo").fee_yen == fee + 100, 10)
    assert "catalog" in pulled
    session.offer_catalog(link.catalog(), None)       # what the app does on "catalog"
    assert session.catalog.procedure("juminhyo").fee_yen == fee   # mid-visit: unchanged
    session.back(3)
    session.back(4)                                    # back to the welcome screen
    assert session.catalog.procedure("juminhyo").fee_yen == fee + 100


def test_a_payment_terminal_gone_raises_the_alarm(backoffice: Any, kiosks: Kiosks,
                                                   tmp_path: Any) -> None:
    """Issue #20: the kiosk's health probe asks its payment terminal (the stand-in, nexo
    Diagnosis); when it stops answering, the supervisor's device view has the problem."""
    import threading

    from hardware.payment.terminal import TerminalServer, TerminalState
    from kiosk.payment.terminal import NexoTcpTerminal
    from kiosk.ui.health import HealthReporter

    link = kiosks.make(backoffice.url, backoffice.kiosk_token, heartbeat=0.2)
    server = TerminalServer(("127.0.0.1", 0), TerminalState(poi_id="T-1"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    terminal = NexoTcpTerminal("127.0.0.1", server.server_address[1], sale_id="k1",
                               connect_timeout_s=1.0)
    reporter = HealthReporter(link.report_health, printer_status=lambda: None, readers=None,
                              data_dir=tmp_path, idle=lambda: True, terminal=terminal.diagnosis)

    def kiosk_problems() -> list[str]:
        view = backoffice.session("supervisor").get(
            f"{backoffice.url}/api/v1/devices/health?ward=kita", timeout=5).json()
        return next(d for d in view["devices"] if d["name"] == "kiosk-kita-1")["problems"]

    try:
        reporter.check()
        assert wait_until(lambda: "payment_terminal:offline" not in kiosk_problems()
                          and "printer:offline" in kiosk_problems(), 10)
    finally:
        server.shutdown()
        server.server_close()
    reporter.check()
    assert wait_until(lambda: "payment_terminal:offline" in kiosk_problems(), 10)
