"""Ticket issuing throughput and latency at 1, 8 and 32 concurrent HTTP clients.

Runs the real back-office (a subprocess) on SQLite and on a private PostgreSQL cluster,
drives it with keep-alive HTTP/1.1 clients (plain asyncio, so the load generator costs as
little CPU as possible on the same machine), and counts duplicate numbers (must be 0).

    .venv/bin/python tests/bench/bench_tickets.py [--quick] [--db sqlite|postgres|both]
                                                  [--workers N] [--seconds S]

Prints a table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.backoffice import BackofficeServer, ServerFactory  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402

SERVICES = ("certificates", "moving", "family", "insurance", "assistance")


class HttpClient:
    """One keep-alive connection; just enough HTTP/1.1 for JSON requests."""

    def __init__(self, host: str, port: int, token: str,
                 tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.token, self.tls = host, port, token, tls
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port,
                                                                 ssl=self.tls)

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}",
                f"Authorization: Bearer {self.token}", f"Content-Length: {len(body)}"]
        if body:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            if line[:15].lower() == "content-length:":
                length = int(line[15:])
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class LeanConnection(asyncio.Protocol):
    """One keep-alive connection of the lean client (`--client lean`): the requests prebuilt
    as bytes but for the Idempotency-Key (a run prefix and a counter), the answer parsed
    only for its status, length and `"number"` — no streams, no uuid, no JSON. It costs
    about a third of the asyncio-streams client's CPU per request (docs/backoffice.md)."""

    def __init__(self, heads: list[tuple[bytes, bytes]], prefix: bytes) -> None:
        self.heads, self.prefix = heads, prefix
        self.buffer = b""
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = self.buffer[:end].lower()
        at, length = head.find(b"content-length:"), 0
        if at >= 0:
            stop = head.find(b"\r\n", at)
            length = int(head[at + 15:stop if stop >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4:end + 4 + length]
        self.buffer = self.buffer[end + 4 + length:]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))

    def request(self, service: int, n: int) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        head, body = self.heads[service]
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(head + self.prefix + b"%x\r\n\r\n" % n + body)
        return self.waiter


def _lean_heads(host: str, token: str) -> list[tuple[bytes, bytes]]:
    """Each service's request up to the Idempotency-Key's value, and its body."""
    out = []
    for service in SERVICES:
        body = json.dumps({"service": service}).encode()
        out.append((("POST /api/v1/tickets HTTP/1.1\r\nHost: " + host + "\r\n"
                     f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\nIdempotency-Key: ").encode(), body))
    return out


def _number(data: bytes) -> str:
    """The answer's `"number"` without parsing the JSON (the fast path writes it compact)."""
    at = data.find(b'"number":"')
    return data[at + 10:data.find(b'"', at + 10)].decode() if at >= 0 else \
        str(json.loads(data)["number"])


class CpuSplit:
    """CPU used during a run by the load generator (this process), the server processes,
    our PostgreSQL cluster and everything else on the machine, in % of one core — so a
    figure taken on a shared machine says how much of the 2 cores it actually had."""

    def __init__(self, server: BackofficeServer, postmaster: int | None) -> None:
        self.server_group = server.proc.pid if server.proc is not None else -1
        self.postmaster = postmaster
        self.hz = os.sysconf("SC_CLK_TCK")

    def _sample(self) -> tuple[float, dict[str, int]]:
        parts = {"client": 0, "server": 0, "postgres": 0}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid, pgrp = int(name), int(fields[1]), int(fields[2])
            used = int(fields[11]) + int(fields[12])
            if pid == os.getpid():
                parts["client"] += used
            elif pgrp == self.server_group:
                parts["server"] += used
            elif self.postmaster is not None and self.postmaster in (pid, ppid):
                parts["postgres"] += used
        with open("/proc/stat") as f:
            cpu = [int(x) for x in f.readline().split()[1:]]
        parts["busy"] = sum(cpu) - cpu[3] - cpu[4]
        return time.monotonic(), parts

    def start(self) -> None:
        self._t0, self._p0 = self._sample()

    def stop(self) -> dict[str, float]:
        t1, p1 = self._sample()
        share = {k: round((p1[k] - self._p0[k]) / self.hz / (t1 - self._t0) * 100)
                 for k in p1}
        share["other"] = share.pop("busy") - share["client"] - share["server"] - share["postgres"]
        self.client_seconds = (p1["client"] - self._p0["client"]) / self.hz
        self.server_seconds = (p1["server"] - self._p0["server"]) / self.hz
        self.postgres_seconds = (p1["postgres"] - self._p0["postgres"]) / self.hz
        return share


def _postmaster(cluster: PostgresCluster | None) -> int | None:
    if cluster is None:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((cluster.data / "postmaster.pid").read_text().split()[0])
    return None


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run_load(server: BackofficeServer, clients: int, seconds: float,
                   max_tickets: int | None,
                   seen: set[tuple[str, str]] | None = None,
                   cpu: CpuSplit | None = None, client: str = "streams") -> dict[str, Any]:
    """Issue tickets for `seconds`; duplicates are counted within this run and against
    `seen` (every number issued before on the same database). `client`: "streams" (asyncio
    streams, `HttpClient`) or "lean" (`LeanConnection`)."""
    latencies: list[float] = []
    numbers: list[tuple[str, str]] = []
    errors: dict[int, int] = {}
    issued = 0
    stop_at = time.perf_counter() + seconds

    async def lean(i: int) -> None:
        nonlocal issued
        prefix = uuid.uuid4().hex[:16].encode()
        _, conn = await asyncio.get_running_loop().create_connection(
            lambda: LeanConnection(heads, prefix), "127.0.0.1", server.port)
        try:
            n = 0
            while time.perf_counter() < stop_at and (max_tickets is None or issued < max_tickets):
                service = (i + n) % len(SERVICES)
                n += 1
                issued += 1
                t0 = time.perf_counter()
                status, data = await conn.request(service, n)
                latencies.append(time.perf_counter() - t0)
                if status == 201:
                    numbers.append((SERVICES[service], _number(data)))
                else:
                    errors[status] = errors.get(status, 0) + 1
        finally:
            if conn.transport is not None:
                conn.transport.close()

    async def one(i: int) -> None:
        nonlocal issued
        client = HttpClient("127.0.0.1", server.port, server.kiosk_token)
        await client.connect()
        try:
            n = 0
            while time.perf_counter() < stop_at and (max_tickets is None or issued < max_tickets):
                service = SERVICES[(i + n) % len(SERVICES)]
                n += 1
                issued += 1
                body = json.dumps({"service": service}).encode()
                t0 = time.perf_counter()
                status, data = await client.request(
                    "POST", "/api/v1/tickets", body, {"Idempotency-Key": uuid.uuid4().hex})
                latencies.append(time.perf_counter() - t0)
                if status == 201:
                    numbers.append((service, json.loads(data)["number"]))
                else:
                    errors[status] = errors.get(status, 0) + 1
        finally:
            client.close()

    t0 = time.perf_counter()
    if cpu is not None:
        cpu.start()
    heads = _lean_heads("127.0.0.1", server.kiosk_token)
    await asyncio.gather(*((lean if client == "lean" else one)(i) for i in range(clients)))
    elapsed = time.perf_counter() - t0
    split = cpu.stop() if cpu is not None else None
    per_ticket: dict[str, float] | None = None
    if cpu is not None and numbers:  # CPU seconds a ticket cost, whatever share it was given
        per_ticket = {"client": round(cpu.client_seconds / len(numbers) * 1000, 3),
                      "server": round(cpu.server_seconds / len(numbers) * 1000, 3),
                      "postgres": round(cpu.postgres_seconds / len(numbers) * 1000, 3)}
    earlier = 0
    if seen is not None:
        earlier = len(seen & set(numbers))
        seen.update(numbers)
    return {
        "client": client, "clients": clients, "tickets": len(numbers), "seconds": round(elapsed, 2),
        "tickets_per_s": round(len(numbers) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
        "duplicates": len(numbers) - len(set(numbers)) + earlier, "errors": errors,
        "cpu_percent_of_a_core": split, "cpu_ms_per_ticket": per_ticket,
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }


@contextlib.contextmanager
def servers(db: str, workers: int, threads: int | None = None, tcp: bool = False,
            settings: dict[str, Any] | None = None
            ) -> Iterator[tuple[BackofficeServer, int | None]]:
    """`tcp`: reach PostgreSQL over 127.0.0.1 instead of its unix socket (a back-office on
    the database's machine uses the socket: cheaper per round trip). `settings`: more
    config/backoffice.toml overrides."""
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    cluster = None
    try:
        if db == "postgres":
            cluster = PostgresCluster(root / "pg")
            (root / "pg").mkdir()
            (root / "pg").chmod(0o755)
            root.chmod(0o755)
            cluster.start()
        factory = ServerFactory(root, cluster=cluster)
        try:
            config = {"server": {"threads": threads, "db_pool_size": threads}} if threads else {}
            config.update(settings or {})
            url = None
            if cluster is not None:
                url = cluster.create_database()
                if not tcp:
                    name = url.rsplit("/", 1)[1]
                    url = (f"postgresql://postgres@/{name}?host={cluster.socket_dir}"
                           f"&port={cluster.port}")
            yield (factory.start(url, workers=workers if db == "postgres" else 1, config=config),
                   _postmaster(cluster))
        finally:
            factory.close()
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _py_spy(out: str | None, server: BackofficeServer,
            seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server process (not pausing it) for `seconds`."""
    if out is None or server.proc is None:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(spy), "record", "--pid", str(server.proc.pid), "--rate", "200",
                             "--duration", str(max(1, int(seconds))), "--nonblocking",
                             "--threads", "--format", "raw", "--output", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run(client: str, coro: Any) -> Any:
    """The lean client on uvloop (as the server), the streams client on asyncio's loop."""
    if client == "lean":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run that proves it works")
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--workers", type=int, default=1,
                    help="server processes on PostgreSQL (1 had the tighter tail on 2 cores)")
    ap.add_argument("--seconds", type=float, default=10.0, help="per concurrency level")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--threads", type=int, help="server threads (and connections) per process")
    ap.add_argument("--py-spy", metavar="FILE",
                    help="profile the server (py-spy, raw folded stacks) during the last level")
    ap.add_argument("--client", choices=("streams", "lean"), default="streams",
                    help="load client: asyncio streams (the figures before 2026-12-05) or the "
                         "lean protocol client on uvloop (about a third of the CPU per request)")
    ap.add_argument("--tcp", action="store_true",
                    help="PostgreSQL over 127.0.0.1 instead of its unix socket")
    args = ap.parse_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    cap = 200 if args.quick else None
    levels = [int(c) for c in args.clients.split(",")]
    results: dict[str, Any] = {"bench": "tickets", "quick": args.quick, "client": args.client,
                               "load_avg": os.getloadavg(), "workers": args.workers,
                               "threads": args.threads, "pg_over": "tcp" if args.tcp else "socket",
                               "runs": []}
    for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        with servers(db, args.workers, args.threads, args.tcp) as (server, postmaster):
            cpu = CpuSplit(server, postmaster)
            seen: set[tuple[str, str]] = set()
            _run(args.client, run_load(server, 8, 0.5 if args.quick else 2.0, None, seen,
                                       client=args.client))  # warm-up
            for clients in levels:
                spy = _py_spy(args.py_spy, server, seconds) if clients == levels[-1] else None
                r = _run(args.client, run_load(server, clients, seconds, cap, seen, cpu,
                                               args.client))
                if spy is not None:
                    spy.wait()
                r["db"] = db
                results["runs"].append(r)
                print(f"{db:9s} {args.client:7s} clients={clients:3d} tickets={r['tickets']:6d} "
                      f"{r['tickets_per_s']:8.1f}/s  p50={r['p50_ms']:7.2f} ms  "
                      f"p99={r['p99_ms']:7.2f} ms  duplicates={r['duplicates']}  "
                      f"errors={r['errors']}  cpu%={r['cpu_percent_of_a_core']}  "
                      f"cpu ms/ticket={r['cpu_ms_per_ticket']}  load={r['load_avg_1min']}",
                      flush=True)
    print(json.dumps(results))
    bad = any(r["duplicates"] or r["errors"] for r in results["runs"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
