"""Benchmark: what notifications cost the queue, and how fast they go out (issue #19).

    .venv/bin/python tests/bench/bench_notify.py [--quick] [--tickets 200] [--calls 60]

On SQLite (a temp file), through the engine and the real delivery worker:
  call_plain_ms       call-next (+ start + complete of the previous) with nobody opted in
  call_notify_ms      the same with every waiting ticket opted into Web Push
  delivery_per_s      pushes encrypted, signed and accepted by the push stand-in per second
  call_to_push_ms     from a call returning to the stand-in holding the decrypted "called"
  call_push_down_ms   call-next while the push service refuses every POST (500): the
                      queue must not notice
Prints one line per figure, then one JSON object with all of them (last line).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hardware.push_service import PushService
from kiosk.backoffice import webpush
from kiosk.backoffice.engine import actions, notify
from kiosk.backoffice.notify_worker import Worker
from tests.backoffice.conftest import admin, make_backoffice, new_ticket


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 2),
            "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
            "max": round(ordered[-1], 2)}


def _backoffice(folder: Path, name: str, push: PushService) -> Any:
    bo = make_backoffice(f"sqlite:///{folder / name}.sqlite3")
    pem, _public = webpush.new_key_pem()
    (folder / f"{name}.pem").write_bytes(pem)
    bo.settings = replace(bo.settings, notify=replace(
        bo.settings.notify, vapid_private_key=str(folder / f"{name}.pem"),
        push_services=(push.origin + "/",), poll_seconds=0.05, max_attempts=2,
        backoff_seconds=0.05))
    return bo


def _calls(bo: Any, count: int) -> list[float]:
    """`count` calls at counter 1, each finishing the ticket before it; ms per call."""
    spent = []
    current = getattr(bo, "bench_current", None)
    for _ in range(count):
        t0 = time.perf_counter()
        if current is not None:
            actions.act(bo, admin(), current["id"], "start")
            actions.act(bo, admin(), current["id"], "complete")
        current = actions.call_next(bo, admin(), "kita", 1, "")
        spent.append((time.perf_counter() - t0) * 1000)
    bo.bench_current = current
    return spent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tickets", type=int, default=200)
    ap.add_argument("--calls", type=int, default=60)
    args = ap.parse_args()
    tickets, calls = (40, 15) if args.quick else (args.tickets, args.calls)
    push = PushService().start()
    out: dict[str, Any] = {"bench": "notify", "tickets": tickets, "calls": calls,
                           "host": platform.node(), "cpus": os.cpu_count(),
                           "load": round(os.getloadavg()[0], 2)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            plain = _backoffice(folder, "plain", push)
            for _ in range(tickets):
                new_ticket(plain)
            out["call_plain_ms"] = _stats(_calls(plain, calls))

            bo = _backoffice(folder, "notify", push)
            vapid = webpush.Vapid.from_file(bo.settings.notify.vapid_private_key,
                                            bo.settings.notify.vapid_subject)
            for _ in range(tickets):
                t = new_ticket(bo)
                sub = push.subscribe(vapid.public_key)
                keys = sub.to_json()["keys"]
                notify.subscribe(bo, t["status_token"], "push", sub.endpoint, "en",
                                 p256dh=keys["p256dh"], auth=keys["auth"])
            out["call_notify_ms"] = _stats(_calls(bo, calls))
            worker = Worker(bo)
            expected = notify.counts(bo, "kita")["pending"]["push"]
            t0 = time.perf_counter()
            worker.start()
            deadline = time.monotonic() + 120
            while len(push.received) < expected and time.monotonic() < deadline:
                time.sleep(0.02)
            seconds = time.perf_counter() - t0
            out["expected"], out["delivered"] = expected, len(push.received)
            out["delivery_per_s"] = round(len(push.received) / seconds, 1)
            # live: one call while the worker runs, to the stand-in holding it decrypted
            lags = []
            for _ in range(min(10, calls)):
                before = len(push.received)
                t1 = time.perf_counter()
                _calls(bo, 1)
                while len(push.received) == before and time.perf_counter() - t1 < 10:
                    time.sleep(0.002)
                lags.append((time.perf_counter() - t1) * 1000)
            out["call_to_push_ms"] = _stats(lags)
            push.fail_next(500, 10_000)
            out["call_push_down_ms"] = _stats(_calls(bo, min(20, calls)))
            push.fail_next(500, 0)
            worker.stop()
            out["worker"] = worker.stats
            bo.engine.dispose()
            plain.engine.dispose()
    finally:
        push.close()
    for key in ("call_plain_ms", "call_notify_ms", "call_push_down_ms", "call_to_push_ms"):
        print(f"{key:20} median {out[key]['median']} ms, p95 {out[key]['p95']} ms, "
              f"max {out[key]['max']} ms")
    print(f"{'delivery_per_s':20} {out['delivery_per_s']} ({out['delivered']} pushes)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
