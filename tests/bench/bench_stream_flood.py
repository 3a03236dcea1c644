"""Ticket issuing while 2,000 phone status streams are open (a flood of the public page).

Starts the real back-office (PostgreSQL, one process, as bench_tickets), issues one ticket
per phone (each phone stream needs its own status token: the per-credential cap), then
measures issuing at 32 keep-alive clients twice on the same database — without streams,
then with every phone's `/status/{token}/events` stream open — while a counter keeps
calling (one call a second by default; every phone waits in that service, so each call
moves all 2,000 phones' places: coalesced `position` messages, kiosk.backoffice.positions).
Reports
issuing p50/p99 in both phases and whether the flood phase stays inside the README's
budget (p99 ≤ 50 ms at 32 clients on PostgreSQL). Loopback only; every loop is bounded in
count and time; the script ends by itself.

    .venv/bin/python tests/bench/bench_stream_flood.py [--quick] [--streams 2000]
                                  [--clients 32] [--seconds 10] [--db postgres|sqlite]
                                  [--call-gap 1.0]

Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.bench.bench_tickets import CpuSplit, HttpClient, run_load, servers  # noqa: E402
from tests.support.backoffice import BackofficeServer  # noqa: E402

P99_BUDGET_MS = 50.0  # README: tickets issued, PostgreSQL, 32 concurrent clients
OPEN_CONCURRENCY = 50  # streams being opened at once
PHASE_LIMIT = 600.0  # no phase of the bench runs longer than this (seconds)


def raise_fd_limit(streams: int) -> int:
    """Room for `streams` sockets here and in the server (a child inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = streams * 2 + 1024
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def issue_tokens(server: BackofficeServer, n: int) -> list[str]:
    """One ticket (and so one status token) per phone, issued by 8 kiosk clients."""
    tokens: list[str] = []

    async def worker(count: int) -> None:
        client = HttpClient("127.0.0.1", server.port, server.kiosk_token)
        await client.connect()
        try:
            for _ in range(count):
                status, data = await client.request(
                    "POST", "/api/v1/tickets", b'{"service":"certificates"}',
                    {"Idempotency-Key": uuid.uuid4().hex})
                assert status == 201, (status, data)
                tokens.append(json.loads(data)["status_token"])
        finally:
            client.close()

    await asyncio.gather(*(worker(n // 8 + (i < n % 8)) for i in range(8)))
    return tokens


class Phones:
    """The open phone streams: each reads its snapshot, then counts what arrives."""

    def __init__(self, server: BackofficeServer) -> None:
        self.server = server
        self.opened = 0
        self.refused: dict[str, int] = {}
        self.events = 0
        self.ended_early = 0
        self.closing = False
        self.tasks: list[asyncio.Task[None]] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def _one(self, token: str, gate: asyncio.Semaphore, ready: asyncio.Event,
                   want: int) -> None:
        async with gate:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
            except OSError as exc:
                self.refused[type(exc).__name__] = self.refused.get(type(exc).__name__, 0) + 1
                self._settled(ready, want)
                return
            self.writers.append(writer)
            writer.write(f"GET /api/v1/status/{token}/events HTTP/1.1\r\nHost: bench\r\n"
                         "Accept: text/event-stream\r\n\r\n".encode())
            status_line = await reader.readline()
            parts = status_line.split()
            status = parts[1].decode() if len(parts) > 1 else "closed"
            if status != "200":
                self.refused[status] = self.refused.get(status, 0) + 1
                writer.close()
                self._settled(ready, want)
                return
            while (line := await reader.readline()) not in (b"", b"\r\n"):
                pass
            while (line := await reader.readline()) and not line.startswith(b"event: snapshot"):
                pass
            self.opened += 1
            self._settled(ready, want)
        while line:
            line = await reader.readline()
            if line.startswith((b"event: ticket.", b"event: position")):
                self.events += 1
        if not self.closing:
            self.ended_early += 1

    def _settled(self, ready: asyncio.Event, want: int) -> None:
        if self.opened + sum(self.refused.values()) >= want:
            ready.set()

    async def open(self, tokens: list[str]) -> float:
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)
        ready = asyncio.Event()
        t0 = time.perf_counter()
        self.tasks = [asyncio.create_task(self._one(t, gate, ready, len(tokens)))
                      for t in tokens]
        await asyncio.wait_for(ready.wait(), PHASE_LIMIT)
        return time.perf_counter() - t0

    async def close(self) -> None:
        self.closing = True
        for w in self.writers:
            w.close()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def caller(server: BackofficeServer, stop: asyncio.Event, gap: float) -> int:
    """A counter calling, serving and completing, one ticket every `gap` seconds."""
    client = HttpClient("127.0.0.1", server.port, server.login("staff"))
    await client.connect()
    calls = 0
    try:
        while not stop.is_set():
            status, body = await client.request("POST", "/api/v1/wards/kita/counters/2/call-next")
            if status == 200:
                calls += 1
                tid = json.loads(body)["id"]
                for action in ("start", "complete"):
                    await client.request("POST", f"/api/v1/tickets/{tid}/{action}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), gap)
    finally:
        client.close()
    return calls


async def phase(server: BackofficeServer, clients: int, seconds: float, cpu: CpuSplit,
                call_gap: float) -> dict[str, Any]:
    stop = asyncio.Event()
    calling = asyncio.create_task(caller(server, stop, call_gap))
    try:
        result = await run_load(server, clients, seconds, None, cpu=cpu)
    finally:
        stop.set()
    result["counter_calls"] = await calling
    return result


def stream_estimates(server: BackofficeServer) -> int:
    """Rows of the estimates sent down phone streams stored so far (engine/shown.py)."""
    from sqlalchemy import text

    from kiosk.backoffice.db import make_engine

    engine = make_engine(server.db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM ticket_estimates WHERE source = 'stream'")).scalar_one())
    finally:
        engine.dispose()


async def run(server: BackofficeServer, streams: int, clients: int, seconds: float,
              cpu: CpuSplit, call_gap: float) -> dict[str, Any]:
    server.login("staff")  # now: argon2 in a phase would stall its event loop
    t0 = time.perf_counter()
    tokens = await issue_tokens(server, streams)
    prepared = time.perf_counter() - t0
    await run_load(server, 8, min(seconds, 2.0), None)  # warm-up
    quiet = await phase(server, clients, seconds, cpu, call_gap)
    phones = Phones(server)
    try:
        open_seconds = await phones.open(tokens)
        events_before = phones.events
        stored_before = await asyncio.to_thread(stream_estimates, server)
        flood = await phase(server, clients, seconds, cpu, call_gap)
        flood["phone_events"] = phones.events - events_before
        flood["stream_estimates_stored"] = (await asyncio.to_thread(stream_estimates, server)
                                            - stored_before)
    finally:
        await phones.close()
    return {"streams_wanted": streams, "streams_open": phones.opened,
            "streams_refused": phones.refused, "streams_ended_early": phones.ended_early,
            "open_seconds": round(open_seconds, 2), "tickets_prepared_seconds": round(prepared, 2),
            "without_flood": quiet, "with_flood": flood}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run that proves it works")
    ap.add_argument("--streams", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=10.0, help="per phase")
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--call-gap", type=float, default=1.0,
                    help="seconds between the counter's calls; every call of the phones' "
                         "service moves every phone's place")
    args = ap.parse_args(argv)
    streams, clients, seconds = ((100, 8, 1.0) if args.quick
                                 else (args.streams, args.clients, min(args.seconds, 120.0)))
    fd_limit = raise_fd_limit(streams)
    with servers(args.db, 1) as (server, postmaster):
        result = asyncio.run(run(server, streams, clients, seconds, CpuSplit(server, postmaster),
                                 max(args.call_gap, 0.05)))
    quiet, flood = result["without_flood"], result["with_flood"]
    result.update(bench="stream_flood", db=args.db, quick=args.quick, fd_limit=fd_limit,
                  call_gap_seconds=args.call_gap,
                  clients=clients, p99_budget_ms=P99_BUDGET_MS,
                  within_budget=flood["p99_ms"] <= P99_BUDGET_MS,
                  p99_change_percent=round((flood["p99_ms"] / quiet["p99_ms"] - 1) * 100, 1)
                  if quiet["p99_ms"] else None)
    print(f"{args.db}: {result['streams_open']} of {streams} phone streams open in "
          f"{result['open_seconds']} s (refused {result['streams_refused']}, "
          f"ended early {result['streams_ended_early']}; fd limit {fd_limit})")
    for name, r in (("without flood", quiet), ("with flood", flood)):
        print(f"  {name:13s} {clients} clients: {r['tickets']} tickets "
              f"{r['tickets_per_s']}/s p50={r['p50_ms']} ms p99={r['p99_ms']} ms "
              f"errors={r['errors']} duplicates={r['duplicates']} "
              f"counter calls={r['counter_calls']} cpu%={r['cpu_percent_of_a_core']}")
    print(f"  phone events and position messages during the flood phase: "
          f"{flood.get('phone_events')}, their estimates stored: "
          f"{flood.get('stream_estimates_stored')}; "
          f"p99 budget {P99_BUDGET_MS} ms: {'inside' if result['within_budget'] else 'MISSED'}")
    print(json.dumps(result))
    bad = (result["streams_open"] != streams or quiet["errors"] or flood["errors"]
           or quiet["duplicates"] or flood["duplicates"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
