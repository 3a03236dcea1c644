"""Places in today's queue from home (issue #19): what a take, a phone's look-up and the
kiosk's check-in and one pass of the server's timer (`sweep_all`) cost through the engine,
with walk-ins and many places waiting (each look-up re-checks the service's waiting places
for "almost your turn": `sweep`).

    .venv/bin/python tests/bench/bench_remote.py [--quick] [--walk-ins N] [--places N]
                                                 [--db sqlite|postgres|both]

Prints the figures, then one JSON line with them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kiosk.backoffice.engine import remote  # noqa: E402
from kiosk.domain.remote import RemoteRules  # noqa: E402
from tests.backoffice.conftest import kiosk, make_backoffice, new_ticket  # noqa: E402


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered) * 1000, 1),
            "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1)}


def _timed(fn: Callable[[], Any], into: list[float]) -> Any:
    started = time.perf_counter()
    out = fn()
    into.append(time.perf_counter() - started)
    return out


def measure(url: str, walk_ins: int, places: int, db: str) -> dict[str, Any]:
    bo = make_backoffice(url)
    services = dict(bo.catalog.services)
    services["certificates"] = replace(services["certificates"],
                                       remote=RemoteRules(per_hour=places, min_wait_minutes=0))
    bo.catalog = replace(bo.catalog, services=services)
    bo.settings = replace(bo.settings, remote=replace(bo.settings.remote,
                                                      max_per_address=places))
    try:
        for _ in range(walk_ins):
            new_ticket(bo)
        takes: list[float] = []
        finds: list[float] = []
        checks: list[float] = []
        codes = [_timed(lambda: remote.take(bo, "kita", "certificates", address="bench"),
                        takes)["code"] for _ in range(places)]
        for code in codes:
            _timed(lambda c=code: remote.look_up(bo, c), finds)
        sweeps: list[float] = []  # the server's timer: every service with places waiting
        for _ in range(20):
            _timed(lambda: remote.sweep_all(bo), sweeps)
        ahead = remote.look_up(bo, codes[-1])["people_ahead"]
        assert ahead == walk_ins + places - 1, ahead
        for code in codes[: max(1, places // 5)]:
            came = _timed(lambda c=code: remote.check_in(bo, kiosk(bo), c, "http://b/"),
                          checks)
            assert came["remote"]["status"] == "checked_in"
    finally:
        bo.engine.dispose()
    figures = {f"{db}_take_ms": _ms(takes), f"{db}_look_up_ms": _ms(finds),
               f"{db}_check_in_ms": _ms(checks), f"{db}_timer_sweep_ms": _ms(sweeps)}
    for key, value in figures.items():
        print(f"{key:24} p50 {value['p50']} ms, p95 {value['p95']} ms", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (SQLite)")
    parser.add_argument("--walk-ins", type=int, default=60)
    parser.add_argument("--places", type=int, default=40)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    walk_ins, places, db = (10, 5, "sqlite") if args.quick else (args.walk_ins, args.places,
                                                                  args.db)
    print(f"{walk_ins} walk-ins waiting, {places} places from home", flush=True)
    figures: dict[str, Any] = {"walk_ins": walk_ins, "places": places}
    root = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    root.chmod(0o755)  # the postgres user must reach its cluster below
    try:
        if db in ("sqlite", "both"):
            figures.update(measure(f"sqlite:///{root / 'remote.db'}", walk_ins, places,
                                   "sqlite"))
        if db in ("postgres", "both"):
            from tests.support.postgres import scratch_database

            with scratch_database(root) as url:
                figures.update(measure(url, walk_ins, places, "postgres"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"bench": "remote", **figures}))


if __name__ == "__main__":
    main()
