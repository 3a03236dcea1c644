"""Call → event latency with many live subscribers (lobby displays, phones, consoles).

Starts the real back-office (PostgreSQL with 2 server processes by default, so events go
through LISTEN/NOTIFY), connects N SSE subscribers to ward kita, then has a counter recall
a ticket M times and measures, for every subscriber, the time from sending the recall
request to receiving its `ticket.recalled` event.

    .venv/bin/python tests/bench/bench_events.py [--quick] [--subscribers 200]
                                                 [--events 50] [--db postgres|sqlite]

Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.bench.bench_tickets import HttpClient, percentile, servers  # noqa: E402
from tests.support.backoffice import BackofficeServer  # noqa: E402

RECALL = re.compile(rb'"type":"ticket\.recalled".*?"recall_count":(\d+)')


async def subscriber(server: BackofficeServer, ready: asyncio.Event, counter: list[int],
                     want: int, received: dict[int, list[float]]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write((f"GET /api/v1/events?ward=kita HTTP/1.0\r\nHost: bench\r\n"
                  f"Authorization: Bearer {server.display_token}\r\n\r\n").encode())
    try:
        got_snapshot = False
        while True:
            line = await reader.readline()
            if not line:
                return
            if not got_snapshot and line.startswith(b"event: snapshot"):
                got_snapshot = True
                counter[0] += 1
                if counter[0] == want:
                    ready.set()
            elif line.startswith(b"data: {\"id\""):
                m = RECALL.search(line)
                if m:
                    received.setdefault(int(m.group(1)), []).append(time.perf_counter())
    finally:
        writer.close()


async def run(server: BackofficeServer, subscribers: int, events: int,
              gap: float) -> dict[str, Any]:
    ready = asyncio.Event()
    counter = [0]
    received: dict[int, list[float]] = {}
    tasks = [asyncio.create_task(subscriber(server, ready, counter, subscribers, received))
             for _ in range(subscribers)]
    await asyncio.wait_for(ready.wait(), 120)
    staff = HttpClient("127.0.0.1", server.port, server.login("staff"))
    await staff.connect()
    kiosk = HttpClient("127.0.0.1", server.port, server.kiosk_token)
    await kiosk.connect()
    status, _ = await kiosk.request("POST", "/api/v1/tickets", b'{"service":"certificates"}',
                                    {"Idempotency-Key": f"bench-{time.time_ns()}"})
    assert status == 201, status
    status, body = await staff.request("POST", "/api/v1/wards/kita/counters/2/call-next")
    assert status == 200, (status, body)
    ticket = json.loads(body)["id"]
    sent: dict[int, float] = {}
    answered: list[float] = []
    for n in range(1, events + 1):
        sent[n] = time.perf_counter()
        status, body = await staff.request("POST", f"/api/v1/tickets/{ticket}/recall",
                                           b'{"counter": 2}')
        answered.append(time.perf_counter() - sent[n])
        assert status == 200, (status, body)
        await asyncio.sleep(gap)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and sum(map(len, received.values())) < \
            subscribers * events:
        await asyncio.sleep(0.05)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    staff.close()
    kiosk.close()
    latencies = [(t - sent[n]) for n, times in received.items() if n in sent for t in times]
    delivered = len(latencies)
    first = [min(times) - sent[n] for n, times in received.items() if n in sent]
    return {"subscribers": subscribers, "events": events, "deliveries": delivered,
            "missing": subscribers * events - delivered,
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
            "max_ms": round(max(latencies) * 1000, 2) if latencies else None,
            "first_subscriber_p50_ms": round(percentile(first, 50) * 1000, 2),
            "call_response_p50_ms": round(percentile(answered, 50) * 1000, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--subscribers", type=int, default=200)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--gap", type=float, default=0.1, help="seconds between recalls")
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    subs, events = (20, 5) if args.quick else (args.subscribers, args.events)
    # Every subscriber uses the one display token: lift the per-credential stream cap.
    lifted = {"events": {"max_streams_per_credential": subs}}
    with servers(args.db, args.workers, settings=lifted) as (server, _postmaster):
        result = asyncio.run(run(server, subs, events, args.gap))
    result.update(bench="events", db=args.db, workers=args.workers if args.db == "postgres"
                  else 1, quick=args.quick)
    print(f"{args.db}: {subs} subscribers × {events} calls: p50={result['p50_ms']} ms "
          f"p99={result['p99_ms']} ms max={result['max_ms']} ms missing={result['missing']} "
          f"(first subscriber p50 {result['first_subscriber_p50_ms']} ms, call answered p50 "
          f"{result['call_response_p50_ms']} ms)")
    print(json.dumps(result))
    return 1 if result["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
