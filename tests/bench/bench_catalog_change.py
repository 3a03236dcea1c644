"""How soon a catalog change made in one back-office process is served by another.

Starts two real server processes on one database (SQLite: the other learns of it by its
poll, `[catalog] poll_seconds`; PostgreSQL: by the NOTIFY, polling off), changes a fee
(`--kind fee`) — or adds and removes a procedure in turn (`--kind procedure`) — through
the admin API of the first `--changes` times and measures, for each, the time from
sending the change until the second process's public `GET /catalog` shows it (read
every 20 ms). Also times the poll's own query (`SELECT max(version)`), what every process
pays per `poll_seconds`.

    .venv/bin/python tests/bench/bench_catalog_change.py [--db sqlite|postgres]
                  [--kind fee|procedure] [--changes 20] [--poll 1.0] [--quick]

Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.bench.bench_tickets import percentile, servers  # noqa: E402
from tests.support.backoffice import ServerFactory  # noqa: E402

BENCH_PROCEDURE = {"code": "bench_proc", "service": "certificates", "group": "other",
                   "name": "計測用の手続き", "fields": [
                       {"key": "name", "label": "氏名", "kind": "name", "source": "card"}]}


def procedures(server: Any) -> dict[str, int]:
    body = requests.get(server.api("/catalog"), timeout=10).json()
    return {p["code"]: int(p["fee_yen"]) for p in body["procedures"]}


def fee(server: Any) -> int:
    return procedures(server)["juminhyo"]


def change(admin: Any, one: Any, kind: str, i: int, base: int) -> Any:
    """Change number i: its request's answer, and what the other process must then serve
    ({code: fee}, None: the code absent)."""
    if kind == "fee":
        want = base + 10 * (i + 1)
        return admin.patch(one.api("/admin/catalog/procedures/juminhyo"), timeout=30,
                           json={"fee_yen": want}), ("juminhyo", want)
    if i % 2 == 0:
        return admin.post(one.api("/admin/catalog/procedures"), timeout=30,
                          json=BENCH_PROCEDURE), ("bench_proc", 0)
    return admin.delete(one.api("/admin/catalog/procedures/bench_proc"),
                        timeout=30), ("bench_proc", None)


def poll_query_ms(db_url: str, n: int = 500) -> float:
    from kiosk.backoffice import catalog_versions
    from kiosk.backoffice.db import make_engine

    engine = make_engine(db_url, pool_size=1)
    try:
        catalog_versions.latest_number(engine)
        start = time.perf_counter()
        for _ in range(n):
            catalog_versions.latest_number(engine)
        return (time.perf_counter() - start) / n * 1000
    finally:
        engine.dispose()


def run(db: str, changes: int, poll: float, kind: str = "fee") -> dict[str, Any]:
    settings = {"catalog": {"poll_seconds": poll if db == "sqlite" else 0}}
    with servers(db, 1, settings=settings) as (one, _postmaster):
        more = ServerFactory(Path(tempfile.mkdtemp(prefix="bench-catalog-")))
        try:
            two = more.also(one)
            admin = one.session("admin")
            base = fee(two)
            answered, seen = [], []
            for i in range(changes):
                t0 = time.perf_counter()
                r, (code, want) = change(admin, one, kind, i, base)
                r.raise_for_status()
                answered.append(time.perf_counter() - t0)
                while procedures(two).get(code) != want:
                    if time.perf_counter() - t0 > 30:
                        raise RuntimeError(f"change {i} not served by the other process")
                    time.sleep(0.02)
                seen.append(time.perf_counter() - t0)
            query = poll_query_ms(one.db_url)
        finally:
            more.close()

    def ms(xs: list[float], p: float) -> float:
        return round(percentile(xs, p) * 1000, 1)

    return {"bench": "catalog_change", "db": db, "kind": kind, "changes": changes,
            "poll_seconds": settings["catalog"]["poll_seconds"],
            "saved_p50_ms": ms(answered, 50), "saved_max_ms": round(max(answered) * 1000, 1),
            "other_process_p50_ms": ms(seen, 50),
            "other_process_max_ms": round(max(seen) * 1000, 1),
            "poll_query_ms": round(query, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--kind", choices=("fee", "procedure"), default="fee",
                    help="a fee changed, or a procedure added and removed in turn")
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="3 changes: proves it works")
    ap.add_argument("--poll", type=float, default=1.0, help="SQLite: [catalog] poll_seconds")
    args = ap.parse_args(argv)
    if args.quick:
        args.changes = 3
    result = run(args.db, args.changes, args.poll, args.kind)
    what = "fee changes" if args.kind == "fee" else "procedures added/removed"
    print(f"{args.db}: {args.changes} {what}: saved p50 {result['saved_p50_ms']} ms "
          f"(max {result['saved_max_ms']}); served by the other process p50 "
          f"{result['other_process_p50_ms']} ms (max {result['other_process_max_ms']}); "
          f"the poll's query {result['poll_query_ms']} ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
