"""Fault tests against a real back-office process: every one ends by comparing the
kiosk's store and the back-office database ticket by ticket — 0 lost, 0 duplicated,
and no ticket on the back-office that nobody holds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.sync import KioskLink
from kiosk.sync.store import Store, outbox, tickets
from tests.sync.check import compare, kiosk_tickets, server_tickets
from tests.sync.conftest import SERVICES, Kiosks, drained
from tests.sync.faultproxy import wait_until
from tests.sync.helpers import juminhyo, settings

REPO = Path(__file__).resolve().parents[2]


def _issue_many(link: KioskLink, n: int, out: list[Any], pause: float = 0.0) -> None:
    for i in range(n):
        service = SERVICES[i % len(SERVICES)]
        app = juminhyo() if service == "certificates" and i % 2 == 0 else None
        out.append(link.issue_ticket(service, "juminhyo" if app else None, app))
        if pause:
            time.sleep(pause)


def _exact(kiosks: Kiosks, db_url: str) -> Any:
    result = compare(kiosks.dbs, db_url)
    result.assert_exact()
    return result


def _dead_letters(link: KioskLink, dead: bool = True) -> list[str]:
    with link.store.read() as conn:
        return [f"{r.kind} {r.last_error}" for r in conn.execute(
            outbox.select().where(outbox.c.dead.is_(dead))).all()]


def _stuck(link: KioskLink) -> str:
    return f"dead: {_dead_letters(link)} pending: {_dead_letters(link, False)[:5]}"


def test_online_then_offline_then_synced(backoffice: Any, kiosks: Kiosks) -> None:
    proxy = kiosks.proxy(backoffice.url)
    link = kiosks.make(proxy.url, backoffice.kiosk_token)
    online = link.issue_ticket("certificates", "juminhyo", juminhyo(), language="en")
    assert not online.offline and online.number.startswith("A-")
    assert online.people_ahead == 0 and online.wait_minutes is not None
    assert online.status_url and "/status/" in online.status_url
    assert link.catalog().procedure("juminhyo").fee_yen > 0
    assert link.opening_state().source in ("backoffice", "cache")

    proxy.set_mode("blackhole")
    t0 = time.monotonic()
    first_offline = link.issue_ticket("certificates", "juminhyo", juminhyo())
    assert time.monotonic() - t0 < link.settings.backoffice.issue_timeout + 1.0
    rest: list[Any] = []
    t0 = time.monotonic()
    _issue_many(link, 9, rest)
    # Known offline: no ticket waits for the network (9 of them would take ≥ 9 s if so).
    assert time.monotonic() - t0 < 0.5 * 9 * link.settings.backoffice.issue_timeout
    offline = [first_offline, *rest]
    assert all(t.offline and t.wait_minutes is None for t in offline)
    # Offline tickets carry a QR too: the kiosk chose the status token.
    assert all(t.status_url and t.status_url.startswith(proxy.url + "/status/")
               for t in offline)
    assert link.status().pending >= 11

    with link.store.read() as conn:
        sealed = [r.sealed for r in conn.execute(outbox.select()) if r.sealed]
    assert sealed
    proxy.set_mode("pass")
    assert drained(link), _stuck(link)
    result = _exact(kiosks, backoffice.db_url)
    assert len(result.kiosk) == 11
    # Not even the ciphertext stays on disk (secure_delete + WAL truncated when drained).
    def on_disk() -> bytes:
        folder = link.settings.store.path.parent
        return b"".join(p.read_bytes() for p in folder.glob("kiosk.db*"))
    assert wait_until(lambda: not any(blob[13:45] in on_disk() for blob in sealed), 5)
    # Personal data left the kiosk once acknowledged (or withdrawn).
    with link.store.read() as conn:
        assert conn.execute(outbox.select().where(outbox.c.sealed.is_not(None))).first() is None
    # The back-office got the application sealed on the kiosk.
    server_id = link_server_id(link, first_offline.key)
    got = backoffice.session("supervisor").get(f"{backoffice.url}/api/v1/tickets/{server_id}",
                                               timeout=5).json()  # not the kiosk: staff only
    assert got["number"] == first_offline.number and got["offline"] is True
    assert got["application"]["values"]["name"] == "山田\u3000花子"
    assert link.ticket_id(first_offline.key) == got["id"]
    token = first_offline.status_url.rsplit("/", 1)[1]
    assert got["status_url"].endswith(f"/status/{token}")   # host: whoever asked
    phone = requests.get(f"{backoffice.url}/api/v1/status/{token}", timeout=5).json()
    assert phone["number"] == first_offline.number
    # Merged by real issue time: the offline tickets queue after the online one.
    issued = datetime.fromisoformat(got["issued_at"])
    assert abs((issued - first_offline.issued_at).total_seconds()) < 1.0


def link_server_id(link: KioskLink, key: str) -> str:
    with link.store.read() as conn:
        return str(conn.execute(tickets.select().where(tickets.c.key == key)).one().server_id)


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_backoffice_killed_and_restarted_mid_burst(db: str, request: pytest.FixtureRequest,
                                                   kiosks: Kiosks) -> None:
    server = request.getfixturevalue("backoffice" if db == "sqlite" else "backoffice_pg")
    link = kiosks.make(server.url, server.kiosk_token, issue_timeout=0.5, block_size=100,
                       refill_below=60, wait_blocks=60)
    issued: list[Any] = []
    burst = threading.Thread(target=_issue_many, args=(link, 90, issued, 0.01))
    burst.start()
    assert wait_until(lambda: len(issued) >= 25, 20)
    server.kill()
    assert wait_until(lambda: len(issued) >= 55, 20)
    server.restart()
    burst.join(30)
    assert len(issued) == 90
    assert any(t.offline for t in issued)
    assert drained(link), _stuck(link)
    result = _exact(kiosks, server.db_url)
    assert sorted(result.kiosk.values()) == sorted(t.number for t in issued)


def test_proxy_drop_stall_blackhole(backoffice: Any, kiosks: Kiosks) -> None:
    proxy = kiosks.proxy(backoffice.url)
    link = kiosks.make(proxy.url, backoffice.kiosk_token, issue_timeout=0.4, block_size=100,
                       refill_below=50, wait_blocks=50)
    issued: list[Any] = []
    for mode in ("drop", "stall", "blackhole"):
        _issue_many(link, 4, issued)
        proxy.set_mode(mode)
        _issue_many(link, 6, issued)
        proxy.set_mode("pass")       # stalled requests now reach the back-office, late
        assert wait_until(lambda: link.online, 10)
    _issue_many(link, 3, issued)
    assert drained(link), _stuck(link)
    result = _exact(kiosks, backoffice.db_url)
    assert sorted(result.kiosk.values()) == sorted(t.number for t in issued)
    assert proxy.stats["dropped"] > 0


def test_duplicate_deliveries_and_late_acknowledgements(backoffice: Any,
                                                        kiosks: Kiosks) -> None:
    proxy = kiosks.proxy(backoffice.url)
    link = kiosks.make(proxy.url, backoffice.kiosk_token, start=True)
    proxy.set_mode("blackhole")
    issued: list[Any] = []
    _issue_many(link, 12, issued)
    link.stop()                                     # no background sender from here on
    store = Store(link.settings.store.path)
    with store.write() as conn:        # no need to wait out the grace of the void here
        conn.execute(outbox.update().values(not_before=0.0))
    with store.read() as conn:
        saved = [dict(r) for r in conn.execute(outbox.select()).mappings()]
    assert sum(r["kind"] == "ticket" for r in saved) == 12
    proxy.set_mode("pass")
    # Two senders deliver the same messages at the same time (duplicate deliveries),
    # then the whole outbox is delivered once more as if no answer had ever come back.
    a = KioskLink(link.settings, clock=time.time)
    b = KioskLink(link.settings, clock=time.time)
    threads = [threading.Thread(target=x.sync_now) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with store.write() as conn:
        conn.execute(outbox.delete())
        conn.execute(outbox.insert(), [{**r, "attempts": 0} for r in reversed(saved)])
    # Re-inserted in reverse order: acknowledgements arrive out of order.
    a.sync_now()
    assert a.pending() == 0, _stuck(a)
    a.stop()
    b.stop()
    store.close()
    _exact(kiosks, backoffice.db_url)


@pytest.mark.parametrize("skew_hours", [3.0, -2.0])
def test_clock_skew(skew_hours: float, backoffice: Any, kiosks: Kiosks) -> None:
    skew = skew_hours * 3600
    proxy = kiosks.proxy(backoffice.url)
    link = kiosks.make(proxy.url, backoffice.kiosk_token, clock=lambda: time.time() + skew)
    assert abs(link.status().clock_offset_seconds + skew) < 5
    proxy.set_mode("blackhole")
    issued: list[Any] = []
    _issue_many(link, 6, issued, pause=0.05)
    now = datetime.now(UTC)
    assert all(abs((t.issued_at - now).total_seconds()) < 10 for t in issued)
    proxy.set_mode("pass")
    assert drained(link), _stuck(link)
    _exact(kiosks, backoffice.db_url)
    s = backoffice.session("supervisor")  # reading a ticket back is for staff only
    for t in issued:
        got = s.get(f"{backoffice.url}/api/v1/tickets/{link_server_id(link, t.key)}",
                    timeout=5).json()
        at = datetime.fromisoformat(got["issued_at"])
        assert abs((at - t.issued_at).total_seconds()) < 1.0
        assert abs((at - now).total_seconds()) < timedelta(seconds=30).total_seconds()


def test_two_offline_kiosks_never_share_a_number(backoffice: Any, kiosks: Kiosks) -> None:
    admin = backoffice.session("admin")
    answer = admin.post(f"{backoffice.url}/api/v1/admin/devices",
                        json={"name": "kiosk-kita-2", "kind": "kiosk", "ward": "kita"}, timeout=5)
    assert answer.status_code == 201, answer.text
    p1, p2 = kiosks.proxy(backoffice.url), kiosks.proxy(backoffice.url)
    k1 = kiosks.make(p1.url, backoffice.kiosk_token, name="k1", block_size=30,
                     refill_below=10, wait_blocks=10)
    k2 = kiosks.make(p2.url, answer.json()["token"], name="k2", block_size=30,
                     refill_below=10, wait_blocks=10)
    p1.set_mode("blackhole")
    p2.set_mode("blackhole")
    got1: list[Any] = []
    got2: list[Any] = []
    threads = [threading.Thread(target=_issue_many, args=(k, 24, out))
               for k, out in ((k1, got1), (k2, got2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    numbers1 = {(t.service, t.number) for t in got1}
    numbers2 = {(t.service, t.number) for t in got2}
    assert len(numbers1) == len(numbers2) == 24
    assert not numbers1 & numbers2
    p1.set_mode("pass")
    p2.set_mode("pass")
    assert drained(k1) and drained(k2), _stuck(k1) + _stuck(k2)
    result = _exact(kiosks, backoffice.db_url)
    assert len(result.kiosk) == 48


def _run_kiosk_until_killed(folder: Path, url: str, token: str, proxy: Any,
                            offline_after: int | None, kill_after: int) -> dict[str, str]:
    """Run the kiosk process, SIGKILL it after `kill_after` printed tickets; returns
    the tickets it handed out (key -> number) as it printed them."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.sync.kiosk_proc", str(folder), url,
                             token], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    handed_out: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        for i, line in enumerate(proc.stdout):
            key, number = line.split()
            handed_out[key] = number
            if i == offline_after:
                proxy.set_mode("blackhole")      # from now on it writes offline tickets
            if i == kill_after:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(10)
    return handed_out


def test_kiosk_killed_while_writing(backoffice: Any, kiosks: Kiosks, tmp_path: Path) -> None:
    proxy = kiosks.proxy(backoffice.url)
    folder = tmp_path / "killed"
    folder.mkdir()
    db = folder / "kiosk.db"
    handed_out: dict[str, str] = {}
    # Killed once while issuing online tickets, then (same store) while issuing offline.
    for offline_after, kill_after in ((None, 15), (5, 45)):
        proxy.set_mode("pass")
        handed_out.update(_run_kiosk_until_killed(folder, proxy.url, backoffice.kiosk_token,
                                                  proxy, offline_after, kill_after))
        store = Store(db)
        assert store.integrity_ok()
        store.close()
        on_disk = kiosk_tickets(db)
        assert all(on_disk.get(k) == n for k, n in handed_out.items())   # nothing lost
    assert len(set(handed_out.values())) == len(handed_out) == 62
    # Restart the kiosk on the same store; it delivers everything and withdraws what
    # it was issuing at the moments of the kills.
    proxy.set_mode("pass")
    link = KioskLink(json_settings(folder, proxy.url, backoffice.kiosk_token))
    kiosks.links.append(link)
    kiosks.dbs.append(db)
    link.start()
    assert drained(link), _stuck(link)
    result = _exact(kiosks, backoffice.db_url)
    assert set(handed_out) <= set(result.kiosk)
    assert len(server_tickets(backoffice.db_url)) >= len(handed_out)


def json_settings(folder: Path, url: str, token: str) -> Any:
    return settings(folder, url, token=token, issue_timeout=0.3, block_size=200,
                    refill_below=150)

