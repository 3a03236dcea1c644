"""Failover under load, through the real parts: kiosks issue tickets through HAProxy (TLS)
to two back-office hosts; the PostgreSQL primary is killed (SIGKILL, as a crash) and the
synchronous standby promoted with deploy/postgresql/promote. The hosts find the new primary
by themselves (both hosts in the URL, target_session_attrs=read-write, pool pre-ping);
every ticket a kiosk saw acknowledged is in the new primary, once, with no number twice;
the lobby displays' SSE streams reconnect through the proxy and catch up with
Last-Event-ID (docs/operations.md, "Failover")."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

import psycopg
import pytest

from tests.deploy.harness import Deployment, deployment
from tests.deploy.load import Kiosk, Watcher

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy is not installed (scripts/bootstrap)")

SERVICES = ("certificates", "moving", "family", "insurance")
KIOSKS = 8
STREAMS = 6
BEFORE, AFTER = 4.0, 12.0  # seconds of load before the crash and after the promotion
PAUSE = 0.03  # between a kiosk's tickets: ~200 tickets/s in all, light enough for 2 cores


async def _load(dep: Deployment, crash_at: float, stop_at: float) -> tuple[list[Kiosk], float]:
    kiosks = [Kiosk("127.0.0.1", dep.port, dep.front.kiosk_token, dep.tls())
              for _ in range(KIOSKS)]
    promoted_at = 0.0

    async def run(i: int, kiosk: Kiosk) -> None:
        n = i
        while time.monotonic() < stop_at:
            n += 1
            await kiosk.issue(SERVICES[n % len(SERVICES)])
            await asyncio.sleep(PAUSE)
        kiosk.close()

    async def crash() -> None:
        nonlocal promoted_at
        await asyncio.sleep(max(0.0, crash_at - time.monotonic()))
        await asyncio.to_thread(dep.failover)
        promoted_at = time.monotonic()

    await asyncio.gather(crash(), *(run(i, k) for i, k in enumerate(kiosks)))
    return kiosks, promoted_at


def test_primary_killed_under_load_nothing_acknowledged_is_lost() -> None:
    config: dict[str, Any] = {"events": {"replay_limit": 5000}}
    with deployment(config) as dep:
        assert dep.replication_state() == [("standby1", "streaming", "quorum")]
        watchers = [Watcher(dep.url + "/api/v1/events", dep.front.display_token, str(dep.ca),
                            params={"ward": "kita"}) for _ in range(STREAMS)]
        for w in watchers:
            w.start()
        for w in watchers:
            assert w.opened.wait(20)
        t0 = time.monotonic()
        kiosks, promoted_at = asyncio.run(_load(dep, t0 + BEFORE, t0 + BEFORE + AFTER + 3))
        acked = [a for k in kiosks for a in k.acked]
        assert dep.standby.is_primary()
        # The hosts reconnected by themselves: tickets were acknowledged after the promotion.
        assert promoted_at and sum(1 for a in acked if a.at > promoted_at + 1) > 100
        assert not any(k.refused for k in kiosks), [k.refused for k in kiosks]

        # Every acknowledged ticket is in the new primary, once; no number twice.
        ids = [a.ticket["id"] for a in acked]
        assert len(set(ids)) == len(ids)
        with psycopg.connect(dep.standby.conninfo(dep.dbname)) as conn:
            found = {r[0]: r[1] for r in conn.execute(
                "SELECT id, idempotency_key FROM tickets WHERE id = ANY(%s)", (ids,))}
            doubles = conn.execute(
                "SELECT ward, service, day, number FROM tickets "
                "GROUP BY ward, service, day, number HAVING count(*) > 1").fetchall()
            per_key = conn.execute(
                "SELECT idempotency_key FROM tickets GROUP BY idempotency_key "
                "HAVING count(*) > 1").fetchall()
            total = conn.execute("SELECT count(*) FROM tickets").fetchone()
        missing = [a for a in acked if a.ticket["id"] not in found]
        assert not missing, f"{len(missing)} acknowledged ticket(s) lost: {missing[:3]}"
        assert all(a.key in found[a.ticket["id"]] for a in acked)  # the key it was sent with
        assert doubles == [] and per_key == []

        # The displays caught up: each saw every acknowledged ticket, after reconnecting.
        numbers = {(a.ticket["service"], a.ticket["number"]) for a in acked}
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and any(numbers - w.seen for w in watchers):
            time.sleep(0.2)
        for w in watchers:
            w.stop()
        assert all(w.connects >= 2 for w in watchers), [w.connects for w in watchers]
        gaps = [sorted(numbers - w.seen) for w in watchers]
        if any(gaps):
            by_number = {(a.ticket["service"], a.ticket["number"]): a for a in acked}
            detail = [(n, by_number[n].ticket["id"], round(by_number[n].at - promoted_at, 2))
                      for g in gaps for n in g[:3]]
            raise AssertionError(f"streams missed tickets: {[len(g) for g in gaps]} {detail}")
        worst = max(a.seconds for a in acked)
        print(f"\nfailover: {len(acked)} tickets acknowledged ({total[0] if total else '?'} "
              f"in the database), retries {sum(k.retries for k in kiosks)}, longest wait for "
              f"an acknowledgement {worst:.1f} s, stream reconnects "
              f"{[w.connects - 1 for w in watchers]}")
