"""A city's peak hour at 10x, through the reference deployment (deploy/, tests/deploy).

HAProxy (TLS) -> two back-office hosts (127.0.0.2/.3) -> PostgreSQL primary + synchronous
standby. A city of 24 wards with 200 counters (a generated catalog), 100 kiosks issuing with
Idempotency-Keys (retrying the same key on failure), 200 counters calling, starting and
completing, and 500 SSE streams (24 lobby displays, 476 phones following their ticket).

Peak assumption (no published per-hour figure was at hand; stated so it can be checked): a
24-ward designated city (Osaka-size, 2.7 M residents) in the moving season (late March,
a Monday morning) issues ~250 tickets per ward in its busiest hour = 6,000 tickets/hour
city-wide. 10x = 60,000 tickets/hour = 16.7 tickets/s, each called, started and completed
(~67 writes/s), plus the stream fan-out. The run samples that rate for --seconds (not a
whole hour).

    .venv/bin/python tests/bench/bench_city_scale.py [--seconds 60] [--rate 10] [--quick]

Prints per-operation p50/p99 and what was lost (must be 0); last line one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import ssl
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.bench.bench_tickets import percentile  # noqa: E402
from tests.deploy.harness import Deployment, deployment  # noqa: E402
from tests.deploy.load import Kiosk  # noqa: E402

WARDS, COUNTERS, KIOSKS, STREAMS = 24, 200, 100, 500
BASE_PEAK_PER_HOUR = 6000  # the assumption above
SERVICES = ("certificates", "moving", "family", "insurance")


def city_catalog(path: Path) -> Path:
    """config/catalog.toml with its wards replaced by 24 wards and 200 counters."""
    text = (REPO / "config" / "catalog.toml").read_text(encoding="utf-8")
    head, rest = text.split("# --- Wards", 1)
    tail = rest[rest.index("# --- Procedures"):]
    wards = []
    for w in range(WARDS):
        counters = COUNTERS // WARDS + (1 if w < COUNTERS % WARDS else 0)
        lines = [f'[[wards]]\ncode = "w{w + 1:02d}"\nname = "第{w + 1}区役所"\ncity = "試験市"\n'
                 f'postcode = "53000{w:02d}"\nservices = {json.dumps(list(SERVICES))}\n'
                 'opens = "08:45"\ncloses = "17:15"\n']
        for c in range(counters):
            lines.append(f'  [[wards.counters]]\n  number = {c + 1}\n'
                         f'  services = {json.dumps(list(SERVICES))}\n')
        wards.append("".join(lines))
    path.write_text(head + "# --- Wards\n" + "\n".join(wards) + "\n" + tail, encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))
    return path


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def add(self, op: str, seconds: float) -> None:
        self.latency.setdefault(op, []).append(seconds)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def table(self) -> dict[str, dict[str, float]]:
        return {op: {"n": len(v), "p50_ms": round(percentile(v, 50) * 1000, 1),
                     "p99_ms": round(percentile(v, 99) * 1000, 1)}
                for op, v in sorted(self.latency.items())}


class Stream:
    """One SSE stream on a raw TLS connection (asyncio: 500 of them in one process)."""

    NUMBER = re.compile(rb'"number":"([A-Z]+-\d+)"')
    ID = re.compile(rb"^id: (\d+)$", re.M)

    def __init__(self, dep: Deployment, tls: ssl.SSLContext, path: str, token: str) -> None:
        self.dep, self.tls, self.path, self.token = dep, tls, path, token
        self.seen: set[str] = set()
        self.bytes = 0
        self.open = False
        self.reconnects = 0
        self.last_id: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Read until `stop`; reconnect with Last-Event-ID when the stream ends."""
        while not stop.is_set():
            try:
                await self._once(stop)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass
            if not stop.is_set():
                self.reconnects += 1
                await asyncio.sleep(0.5)

    async def _once(self, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.dep.port, ssl=self.tls)
        last = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id else ""
        writer.write(f"GET {self.path} HTTP/1.1\r\nHost: ward\r\nAccept: text/event-stream\r\n"
                     f"Authorization: Bearer {self.token}\r\n{last}\r\n".encode())
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.open = self.open or head.startswith(b"HTTP/1.1 200")
            if not head.startswith(b"HTTP/1.1 200"):
                return
            pending = b""
            while not stop.is_set():
                try:
                    chunk = await asyncio.wait_for(reader.read(65536), 1.0)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                self.bytes += len(chunk)
                # Whole events only: a number split across two reads must not be missed.
                done, _, pending = (pending + chunk).rpartition(b"\n\n")
                self.seen.update(m.decode() for m in self.NUMBER.findall(done))
                ids = self.ID.findall(done)
                if ids:
                    self.last_id = ids[-1].decode()
        finally:
            writer.close()


async def city(dep: Deployment, seconds: float, rate: float, stats: Stats) -> dict[str, Any]:
    tls = dep.tls()
    tokens = dep.front.device_tokens
    wards = [f"w{w + 1:02d}" for w in range(WARDS)]
    staff = dep.front.login("supervisor")
    stop = asyncio.Event()          # kiosks and counters
    streams_stop = asyncio.Event()  # streams read on until the last events reached them
    issued: dict[str, list[dict[str, Any]]] = {w: [] for w in wards}
    completed: list[int] = []
    streams: list[Stream] = []
    tasks: list[asyncio.Task[None]] = []
    issue_gap = KIOSKS / rate  # each kiosk issues one ticket every issue_gap seconds

    for w in wards:  # a lobby display per ward
        s = Stream(dep, tls, f"/api/v1/events?ward={w}", tokens[("display", w)])
        streams.append(s)
        tasks.append(asyncio.create_task(s.run(streams_stop)))

    async def kiosk(i: int) -> None:
        ward = wards[i % WARDS]
        k = Kiosk("127.0.0.1", dep.port, tokens[("kiosk", ward)], tls)
        await asyncio.sleep(random.uniform(0, issue_gap))
        while not stop.is_set():
            t0 = time.perf_counter()
            acked = await k.issue(random.choice(SERVICES))
            stats.add("issue", time.perf_counter() - t0)
            if acked is None:
                stats.error("issue refused")
            else:
                issued[ward].append(acked.ticket)
                if len(streams) < STREAMS:  # the resident follows it on the phone
                    token = acked.ticket["status_token"]
                    s = Stream(dep, tls, f"/api/v1/status/{token}/events", token)
                    streams.append(s)
                    tasks.append(asyncio.create_task(s.run(streams_stop)))
            await asyncio.sleep(max(0.0, issue_gap - (time.perf_counter() - t0)))
        k.close()

    async def counter(ward: str, number: int) -> None:
        k = Kiosk("127.0.0.1", dep.port, staff, tls)
        await asyncio.sleep(random.uniform(0, 3))
        while not stop.is_set():
            op = "call-next"
            try:
                t0 = time.perf_counter()
                status, data = await k.request(
                    "POST", f"/api/v1/wards/{ward}/counters/{number}/call-next")
                stats.add(op, time.perf_counter() - t0)
                if status == 204:  # nobody waits: the clerk tries again a little later
                    await asyncio.sleep(random.uniform(2.0, 4.0))
                    continue
                if status != 200:
                    stats.error(f"{op} {status}")
                    await asyncio.sleep(1.0)
                    continue
                ticket = json.loads(data)
                for op in ("start", "complete"):
                    await asyncio.sleep(random.uniform(0.5, 1.5))  # the clerk serves
                    t0 = time.perf_counter()
                    status, data = await k.request(
                        "POST", f"/api/v1/tickets/{ticket['id']}/{op}", {"counter": number})
                    stats.add(op, time.perf_counter() - t0)
                    if status != 200:
                        stats.error(f"{op} {status}")
                        break
                else:
                    completed.append(ticket["id"])
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                stats.error(f"{op} connection")
                await asyncio.sleep(0.5)
        k.close()

    workers = [asyncio.create_task(kiosk(i)) for i in range(KIOSKS)]
    per_ward = [COUNTERS // WARDS + (1 if w < COUNTERS % WARDS else 0) for w in range(WARDS)]
    workers += [asyncio.create_task(counter(wards[w], c + 1))
                for w in range(WARDS) for c in range(per_ward[w])]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*workers)
    displays = streams[:WARDS]

    def missing() -> int:
        return sum(len({t["number"] for t in issued[w]} - s.seen)
                   for w, s in zip(wards, displays, strict=True))

    for _ in range(100):  # at most 20 s
        if not missing():
            break
        await asyncio.sleep(0.2)
    streams_stop.set()
    missed = missing()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"issued": sum(len(v) for v in issued.values()), "completed": len(completed),
            "completed_ids": completed, "issued_ids": [t["id"] for v in issued.values()
                                                       for t in v],
            "streams": len(streams), "streams_open": sum(s.open for s in streams),
            "stream_reconnects": sum(s.reconnects for s in streams),
            "display_events_missed": missed}


def check_database(dep: Deployment, result: dict[str, Any]) -> dict[str, int]:
    import psycopg

    with psycopg.connect(dep.primary.conninfo(dep.dbname)) as conn:
        ids = result["issued_ids"]
        found = conn.execute("SELECT count(*) FROM tickets WHERE id = ANY(%s)", (ids,)).fetchone()
        done = conn.execute("SELECT count(*) FROM tickets WHERE id = ANY(%s) AND status = 'done'",
                            (result["completed_ids"],)).fetchone()
        doubles = conn.execute("SELECT count(*) FROM (SELECT 1 FROM tickets GROUP BY ward, "
                               "service, day, number HAVING count(*) > 1) d").fetchone()
    assert found and done and doubles
    return {"acknowledged_missing": len(ids) - found[0],
            "completed_not_done": len(result["completed_ids"]) - done[0],
            "duplicate_numbers": doubles[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=10.0, help="times the assumed real peak")
    ap.add_argument("--quick", action="store_true", help="10 s, to prove it works")
    args = ap.parse_args(argv)
    seconds = 10.0 if args.quick else args.seconds
    issue_rate = BASE_PEAK_PER_HOUR * args.rate / 3600
    root = Path(tempfile.mkdtemp(prefix="city-"))
    catalog = city_catalog(root / "catalog.toml")
    config = {"events": {"max_streams_per_credential": 8}}
    stats = Stats()
    load0 = os.getloadavg()
    try:
        with deployment(config, catalog=catalog) as dep:
            result = asyncio.run(city(dep, seconds, issue_rate, stats))
            lost = check_database(dep, result)
            replication = dep.replication_state()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    table = stats.table()
    for op, row in table.items():
        print(f"{op:10s} n={row['n']:6d}  p50={row['p50_ms']:7.1f} ms  p99={row['p99_ms']:7.1f} ms")
    summary = {k: v for k, v in result.items() if not k.endswith("_ids")}
    print(f"issued {summary['issued']} ({summary['issued'] / seconds:.1f}/s, target "
          f"{issue_rate:.1f}/s), completed {summary['completed']}, streams "
          f"{summary['streams_open']}/{summary['streams']} open, display events missed "
          f"{summary['display_events_missed']}, lost {lost}, errors {stats.errors}")
    out = {"bench": "city_scale", "seconds": seconds, "rate_x": args.rate,
           "issue_target_per_s": round(issue_rate, 1), "ops": table, **summary, **lost,
           "errors": stats.errors, "replication": replication,
           "loadavg_before": load0, "loadavg_after": os.getloadavg(), "cores": os.cpu_count()}
    print(json.dumps(out))
    bad = any(lost.values()) or summary["display_events_missed"] or stats.errors
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
