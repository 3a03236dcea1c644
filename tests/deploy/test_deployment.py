"""The reference deployment (deploy/) works through its real parts: HAProxy terminating TLS
with a test CA in front of two back-office hosts, a PostgreSQL primary with a synchronous
streaming standby, SSE unbuffered through the proxy, and a base backup + WAL archive that
restores (docs/operations.md)."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests

from tests.deploy.harness import Deployment, PgNode, _run, deployment

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy is not installed (scripts/bootstrap)")


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    with deployment() as d:
        yield d


def issue(dep: Deployment, service: str = "certificates", key: str | None = None,
          ) -> dict[str, Any]:
    r = requests.post(dep.url + "/api/v1/tickets", json={"service": service}, timeout=10,
                      verify=str(dep.ca),
                      headers={"Authorization": f"Bearer {dep.front.kiosk_token}",
                               "Idempotency-Key": key or uuid.uuid4().hex})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def test_tls_proxy_two_hosts_and_a_synchronous_standby(dep: Deployment) -> None:
    assert dep.replication_state() == [("standby1", "streaming", "quorum")]
    for server in dep.servers:  # both hosts up on their own addresses, both in the pool
        assert requests.get(server.url + "/healthz", timeout=5).json()["database"] == "ok"
    t = issue(dep)
    assert t["number"].startswith("A-")
    # The proxy speaks TLS only, with the certificate the CA vouches for.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(dep.url + "/healthz", timeout=5, verify=True)
    with socket.create_connection(("127.0.0.1", dep.port), timeout=5) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = raw.recv(100)
    assert not answer.startswith(b"HTTP/1.1 200")
    with dep.tls().wrap_socket(socket.create_connection(("127.0.0.1", dep.port)),
                               server_hostname="127.0.0.1") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    # A rolling upgrade, host by host (docs/operations.md): drain it in HAProxy, stop it,
    # start the new version, put it back — and not one request fails meanwhile.
    assert dep.hosts_up() == ["bo1", "bo2"]
    for name, server in (("bo1", dep.servers[0]), ("bo2", dep.servers[1])):
        dep.haproxy_admin(f"set server backoffice/{name} state drain")
        server.stop()
        for _ in range(5):
            issue(dep)
        server.start()
        dep.haproxy_admin(f"set server backoffice/{name} state ready")
        deadline = time.monotonic() + 10
        while name not in dep.hosts_up():
            assert time.monotonic() < deadline, dep.haproxy_admin("show stat")
            time.sleep(0.2)
    # Committed on the primary = on the standby (synchronous): a replica read sees it.
    with psycopg.connect(dep.standby.conninfo(dep.dbname)) as conn:
        row = conn.execute("SELECT id FROM tickets WHERE id = %s", (t["id"],)).fetchone()
    assert row is not None


def test_sse_through_the_proxy_is_not_buffered(dep: Deployment) -> None:
    got: list[tuple[float, dict[str, Any]]] = []
    opened = threading.Event()

    def listen() -> None:
        with requests.get(dep.url + "/api/v1/events", params={"ward": "kita"}, stream=True,
                          verify=str(dep.ca), timeout=30,
                          headers={"Authorization": f"Bearer {dep.front.display_token}"}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines(chunk_size=1):
                opened.set()
                if line.startswith(b"data: ") and b'"ticket"' in line:
                    got.append((time.monotonic(), json.loads(line[6:])))
                    return

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    assert opened.wait(15)
    time.sleep(0.3)
    t0 = time.monotonic()
    t = issue(dep, "moving")
    th.join(15)
    assert got, "the issued ticket's event never came through the proxy"
    at, event = got[0]
    assert event["ticket"]["number"] == t["number"]
    assert at - t0 < 3.0  # arrives at once, not when a buffer fills or the stream ends


def test_base_backup_and_wal_archive_restore(dep: Deployment) -> None:
    before = [issue(dep, "family") for _ in range(3)]
    backup = _run([dep.script("base-backup"), dep.primary.conninfo(user="replicator"),
                   str(dep.backups)], postgres=True).strip().splitlines()[-1]
    after = [issue(dep, "insurance") for _ in range(3)]
    # The archive has the WAL with `after` once its segment is switched (archive_timeout
    # does that within a minute in production).
    with psycopg.connect(dep.primary.conninfo(), autocommit=True) as conn:
        conn.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = conn.execute("SELECT last_archived_wal, last_failed_wal "
                               "FROM pg_stat_archiver").fetchone()
            last = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
            assert row is not None and last is not None
            if row[0] is not None and row[0] < last[0] and row[0] >= _segment_before(last[0]):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"WAL not archived: {row}")
    restored = PgNode(dep.pg_root, "restored")
    _run([dep.script("restore"), backup, str(restored.data), str(dep.archive)],
         postgres=True)
    restored.start()
    try:
        deadline = time.monotonic() + 60
        while not restored.is_primary():  # replays the archive, then opens read-write
            assert time.monotonic() < deadline, restored.log.read_text()[-2000:]
            time.sleep(0.2)
        with psycopg.connect(restored.conninfo(dep.dbname)) as conn:
            ids = {r[0] for r in conn.execute("SELECT id FROM tickets")}
        assert {t["id"] for t in before + after} <= ids
    finally:
        restored.stop()


def _segment_before(name: str) -> str:
    """The WAL file name just before `name` (same timeline; enough for this test)."""
    return f"{name[:16]}{int(name[16:], 16) - 1:08X}"


def test_tls_context_rejects_an_unknown_ca(dep: Deployment) -> None:
    ctx = ssl.create_default_context()
    with pytest.raises(ssl.SSLError), socket.create_connection(("127.0.0.1", dep.port)) as s:
        ctx.wrap_socket(s, server_hostname="127.0.0.1")
