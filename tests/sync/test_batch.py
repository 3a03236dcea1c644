"""The outbox drains offline tickets through `POST /tickets/batch`, against a real
back-office process (SQLite and PostgreSQL), with every guarantee of the one request per
ticket path: 0 lost, 0 duplicated (ticket by ticket, `check.py`), a refused item kept and
reported without holding the others up, an older back-office without the endpoint served
one ticket per request — and no personal data left in the kiosk's SQLite file."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kiosk.sync import KioskLink
from kiosk.sync.store import outbox, tickets
from tests.sync.check import compare, server_engine
from tests.sync.conftest import SERVICES, Kiosks, drained
from tests.sync.faultproxy import wait_until
from tests.sync.helpers import CARD, juminhyo
from tests.sync.httpproxy import HttpProxy

BATCH = "/api/v1/tickets/batch"
SINGLE = "/api/v1/tickets"
BIG = {"block_size": 200, "refill_below": 180, "wait_blocks": 180}


def _offline_burst(link: KioskLink, n: int) -> list[Any]:
    """n offline tickets over the three services, every other certificate one with a
    sealed application (the resident's name and address)."""
    out = []
    for i in range(n):
        service = SERVICES[i % len(SERVICES)]
        app = juminhyo() if service == "certificates" and i % 2 == 0 else None
        t = link.issue_ticket(service, "juminhyo" if app else None, app)
        assert t.offline
        out.append(t)
    return out


def _on_disk(link: KioskLink) -> bytes:
    """The raw bytes of the kiosk's store: the database file, its WAL and shared memory."""
    folder = link.settings.store.path.parent
    return b"".join(p.read_bytes() for p in sorted(folder.glob(link.settings.store.path.name
                                                                + "*")))


def _sealed(link: KioskLink) -> list[bytes]:
    with link.store.read() as conn:
        return [r.sealed for r in conn.execute(outbox.select()) if r.sealed]


def _stuck(link: KioskLink) -> str:
    with link.store.read() as conn:
        return str([f"{r.kind} dead={r.dead} {r.last_error}"
                    for r in conn.execute(outbox.select().limit(5))])


def _back_and_drained(server: Any, proxy: HttpProxy, kiosks: Kiosks, link: KioskLink,
                      issued: list[Any]) -> Any:
    """The back-office is back: the kiosk drains its outbox, both sides agree exactly."""
    proxy.reset_counts()
    server.start()
    assert drained(link, 60), _stuck(link)
    result = compare(kiosks.dbs, server.db_url)
    result.assert_exact()
    assert sorted(result.kiosk.values()) == sorted(t.number for t in issued)
    return result


PERSONAL = [CARD["name"].encode(), CARD["address"].encode(), "山田".encode(),
            "新金岡町".encode()]


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_500_offline_tickets_drain_in_few_requests(db: str, request: pytest.FixtureRequest,
                                                   kiosks: Kiosks) -> None:
    server = request.getfixturevalue("backoffice" if db == "sqlite" else "backoffice_pg")
    proxy = HttpProxy("127.0.0.1", server.port)
    kiosks.proxies.append(proxy)  # type: ignore[arg-type]
    link = kiosks.make(proxy.url, server.kiosk_token, **BIG)
    server.stop()                                  # the ward's back-office goes away
    issued = _offline_burst(link, 500)
    sealed = _sealed(link)
    assert len(sealed) == 84
    # Sealed at rest: the resident's name and address are nowhere in clear, even now.
    raw = _on_disk(link)
    assert not any(p in raw for p in PERSONAL)

    result = _back_and_drained(server, proxy, kiosks, link, issued)
    assert all(result.server[t.key][3] for t in issued)           # uploaded as offline
    batches = proxy.count("POST", BATCH)
    assert 5 <= batches <= 10, proxy.counts
    assert proxy.count("POST", SINGLE) == 0, proxy.counts

    # The applications arrived; on the kiosk nothing of them is left: not the rows,
    # not the ciphertext in free pages or in the WAL.
    with link.store.read() as conn:
        first = conn.execute(tickets.select().where(tickets.c.key == issued[0].key)).one()
    got = server.session("supervisor").get(server.api(f"/tickets/{first.server_id}"),
                                           timeout=5).json()  # kiosks read no applications
    assert got["application"]["values"]["address"] == CARD["address"]
    assert not _sealed(link)
    assert wait_until(lambda: not any(b[13:45] in _on_disk(link) for b in sealed), 10)
    assert not any(p in _on_disk(link) for p in PERSONAL)


def _offline_count(db_url: str) -> Any:
    engine = server_engine(db_url)

    def count() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text(
                    "SELECT count(*) FROM tickets WHERE offline")).scalar_one())
        except sa.exc.OperationalError:     # SQLite busy for a moment
            return -1
    return count, engine


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_backoffice_killed_mid_batch(db: str, request: pytest.FixtureRequest,
                                     kiosks: Kiosks) -> None:
    server = request.getfixturevalue("backoffice" if db == "sqlite" else "backoffice_pg")
    link = kiosks.make(server.url, server.kiosk_token, **BIG)
    server.stop()
    issued = _offline_burst(link, 300)
    count, engine = _offline_count(server.db_url)
    at_kill: list[int] = []

    def killer() -> None:
        # Kill once the batches after the first (one alone, then three side by side) are
        # being written: part of them committed, no answer sent. The kiosk must send them
        # again; the back-office replays what it has.
        while not at_kill:
            n = count()
            if n > 130:
                server.kill()
                at_kill.append(n)
            time.sleep(0.003)
    watcher = threading.Thread(target=killer)
    try:
        server.start()
        watcher.start()
        watcher.join(60)
        assert at_kill and at_kill[0] < 300, "the drain finished before the kill"
        committed = next(n for n in iter(count, None) if n >= 0)
        assert 130 < committed < 300, committed     # batches were cut short
        server.restart()
        assert drained(link, 60), _stuck(link)
    finally:
        at_kill.append(-1)
        engine.dispose()
    result = compare(kiosks.dbs, server.db_url)
    result.assert_exact()
    assert sorted(result.kiosk.values()) == sorted(t.number for t in issued)
    assert len(result.server) == 300


def _tamper(link: KioskLink, key: str, **offline: Any) -> None:
    import json
    with link.store.write() as conn:
        payload = json.loads(conn.execute(sa.select(outbox.c.payload)
                                          .where(outbox.c.key == key)).scalar_one())
        payload["offline"].update(offline)
        conn.execute(outbox.update().where(outbox.c.key == key)
                     .values(payload=json.dumps(payload, ensure_ascii=False)))


def test_poisoned_items_do_not_hold_the_others(backoffice: Any, kiosks: Kiosks) -> None:
    link = kiosks.make(backoffice.url, backoffice.kiosk_token, **BIG)
    backoffice.stop()
    issued = _offline_burst(link, 180)
    link.stop()        # the sender below runs alone, so we see every outcome
    # Three poisoned uploads in two batches: a number this kiosk never reserved (the item
    # is refused), a malformed status token (the whole batch fails validation), an
    # application the back-office no longer accepts (sent again without it).
    unreserved, malformed = issued[10], issued[150]
    bad_form = next(t for t in issued[20:] if t.service == "certificates"
                    and t.procedure == "juminhyo")
    kiosk2 = KioskLink(link.settings)
    kiosks.links.append(kiosk2)
    _tamper(kiosk2, unreserved.key, number=1998)
    _tamper(kiosk2, malformed.key, status_token="not a token!")
    with kiosk2.store.write() as conn:
        app = juminhyo().to_dict()
        app["values"]["copies"] = "many"
        conn.execute(outbox.update().where(outbox.c.key == bad_form.key)
                     .values(sealed=kiosk2.sealer.seal(app, bad_form.key)))
    backoffice.start()
    deadline = time.monotonic() + 60
    while kiosk2.pending() and time.monotonic() < deadline:
        kiosk2.sync_now()
    assert kiosk2.pending() == 0, _stuck(kiosk2)
    assert kiosk2.status().dead == 2
    with kiosk2.store.read() as conn:
        dead = {r.key: r for r in conn.execute(outbox.select().where(outbox.c.dead))}
    assert set(dead) == {unreserved.key, malformed.key}
    assert "number_not_reserved" in dead[unreserved.key].last_error
    assert "validation_error" in dead[malformed.key].last_error
    # Kept for the maintainer with everything needed to send it again.
    assert dead[unreserved.key].payload
    requests = kiosk2.sender.requests
    assert requests["batch"] >= 2
    # Only the malformed item went alone (and the ticket whose form was refused).
    assert requests["single"] <= 3, requests

    result = compare(kiosks.dbs, backoffice.db_url)
    assert sorted(result.lost) == sorted(f"{t.key[:8]} {t.number}"
                                         for t in (unreserved, malformed))
    assert not result.duplicated and not result.mismatched and not result.phantoms
    server_id = kiosk2.ticket_id(bad_form.key)
    got = backoffice.session("supervisor").get(backoffice.api(f"/tickets/{server_id}"),
                                               timeout=5).json()
    assert got["number"] == bad_form.number and got["application"] is None


@pytest.mark.parametrize("status", [404, 405])
def test_older_backoffice_without_batch(status: int, backoffice: Any, kiosks: Kiosks) -> None:
    proxy = HttpProxy("127.0.0.1", backoffice.port)
    proxy.refuse[("POST", BATCH)] = status
    kiosks.proxies.append(proxy)  # type: ignore[arg-type]
    link = kiosks.make(proxy.url, backoffice.kiosk_token, **BIG)
    backoffice.stop()
    issued = _offline_burst(link, 120)
    _back_and_drained(backoffice, proxy, kiosks, link, issued)
    assert proxy.count("POST", BATCH) == 1, proxy.counts        # asked once, remembered
    assert proxy.count("POST", SINGLE) >= 120, proxy.counts


def test_store_file_has_no_personal_data_after_drain(tmp_path: Path) -> None:
    """The same check, at the SQLite level: secure_delete zeroes deleted rows, the
    truncating checkpoint removes their copies from the WAL."""
    from kiosk.sync.store import Store

    store = Store(tmp_path / "k.db")
    secret = "大阪府堺市北区新金岡町５丁１－１ 山田花子".encode()
    with store.write() as conn:
        conn.execute(outbox.insert(), [
            {"key": f"m{i}", "kind": "ticket", "payload": "{}", "created_at": 0.0,
             "sealed": secret * 40} for i in range(200)])
    with store.write() as conn:   # a withdrawn ticket's message keeps its row, not its data
        conn.execute(outbox.update().where(outbox.c.key == "m0").values(sealed=None))
    with store.write() as conn:
        conn.execute(outbox.delete().where(outbox.c.key != "m0"))
    assert store.purge_wal()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("k.db*"))
    assert secret not in raw
    with sqlite3.connect(tmp_path / "k.db") as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    store.close()



def test_a_reader_makes_the_wal_truncation_wait_briefly_and_retry(tmp_path: Path) -> None:
    """A read transaction open at the truncation keeps it from completing. It must give up
    within CHECKPOINT_WAIT_MS (it holds the write lock while waiting; the store's busy
    timeout is 10 s and an issuing resident would wait that long), say so, and succeed
    once the reader is gone."""
    import threading
    import time

    from kiosk.sqlitewal import CHECKPOINT_WAIT_MS
    from kiosk.sync.store import Store

    store = Store(tmp_path / "k.db")
    with store.write() as conn:
        conn.execute(outbox.insert(), [{"key": "m1", "kind": "ticket", "payload": "{}",
                                        "created_at": 0.0, "sealed": b"x" * 4000}])
    reader = sqlite3.connect(tmp_path / "k.db")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM outbox").fetchone()  # holds a WAL snapshot
    with store.write() as conn:
        conn.execute(outbox.delete())
    t0 = time.monotonic()
    assert store.purge_wal() is False
    assert time.monotonic() - t0 < CHECKPOINT_WAIT_MS / 1000 + 2.0  # not the 10 s timeout
    written = threading.Event()

    def write() -> None:
        with store.write() as conn:
            conn.execute(outbox.insert(), [{"key": "m2", "kind": "ticket", "payload": "{}",
                                            "created_at": 0.0, "sealed": None}])
        written.set()

    threading.Thread(target=write).start()
    assert written.wait(5.0)  # the store still takes writes while the reader stays
    reader.rollback()
    reader.close()
    assert store.purge_wal() is True
    store.close()

def test_online_tickets_leave_no_sealed_copy(backoffice: Any, kiosks: Kiosks) -> None:
    """An online ticket's application is sealed into the outbox before the request and
    deleted with the acknowledgement: the link's thread then takes it out of the WAL."""
    link = kiosks.make(backoffice.url, backoffice.kiosk_token)
    blobs: list[bytes] = []
    seal = link.sealer.seal

    def recording(data: Any, key: str) -> bytes:
        blobs.append(seal(data, key))
        return blobs[-1]
    link.sealer.seal = recording  # type: ignore[method-assign]
    for _ in range(5):
        assert not link.issue_ticket("certificates", "juminhyo", juminhyo()).offline
    assert len(blobs) == 5
    assert wait_until(lambda: not any(b[13:45] in _on_disk(link) for b in blobs), 10)
    assert not any(p in _on_disk(link) for p in PERSONAL)


def test_a_truncation_during_the_request_does_not_keep_the_sealed_copy(
        backoffice: Any, kiosks: Kiosks) -> None:
    """The link's thread may truncate the WAL while an online ticket's request is on its
    way, before the acknowledgement deletes the sealed application: the deletion must
    still be followed by a truncation, or the copy stays in the store's files."""
    link = kiosks.make(backoffice.url, backoffice.kiosk_token)
    blobs: list[bytes] = []
    seal, post = link.sealer.seal, link.client.post

    def recording(data: Any, key: str) -> bytes:
        blobs.append(seal(data, key))
        return blobs[-1]

    def truncated_first(path: str, *args: Any, **kw: Any) -> Any:
        if path.endswith("/tickets"):  # not the link's own heartbeat
            link._purge()   # what the link's thread does when it finds the flag set
        return post(path, *args, **kw)
    link.sealer.seal = recording  # type: ignore[method-assign]
    link.client.post = truncated_first  # type: ignore[method-assign]
    assert not link.issue_ticket("certificates", "juminhyo", juminhyo()).offline
    assert len(blobs) == 1
    assert wait_until(lambda: blobs[0][13:45] not in _on_disk(link), 10)
    assert not any(p in _on_disk(link) for p in PERSONAL)
