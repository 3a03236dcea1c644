"""The benchmarks run (--quick); they assert correctness (no duplicates, no lost events),
never timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _bench(name: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, f"tests/bench/{name}", "--quick", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ticket_bench_quick():
    result = _bench("bench_tickets.py", "--clients", "1,8", "--db", "sqlite")
    assert {r["db"] for r in result["runs"]} == {"sqlite"}
    assert all(r["duplicates"] == 0 and r["tickets"] > 0 for r in result["runs"])


def test_ticket_bench_lean_client_quick():
    """The lean load client (`--client lean`) counts the same: every answer a ticket, its
    number read from the raw answer, no duplicates; its CPU per ticket is reported."""
    result = _bench("bench_tickets.py", "--clients", "8", "--db", "postgres",
                    "--client", "lean")
    assert result["client"] == "lean" and len(result["runs"]) == 1
    run = result["runs"][0]
    assert run["tickets"] > 0 and run["duplicates"] == 0 and not run["errors"]
    assert set(run["cpu_ms_per_ticket"]) == {"client", "server", "postgres"}


def test_event_bench_quick():
    result = _bench("bench_events.py")
    assert result["missing"] == 0 and result["deliveries"] == 20 * 5


def test_stream_flood_bench_quick():
    result = _bench("bench_stream_flood.py", "--db", "sqlite")
    assert result["streams_open"] == result["streams_wanted"] == 100
    assert result["streams_refused"] == {} and result["streams_ended_early"] == 0
    for phase in ("without_flood", "with_flood"):
        assert result[phase]["tickets"] > 0 and result[phase]["duplicates"] == 0


def test_purge_bench_quick():
    result = _bench("bench_purge.py", "--db", "both")
    assert {r["db"] for r in result["runs"]} == {"sqlite", "postgres"}
    # A day of 1,000 tickets, 90 % finished; the 2,000 purged earlier are not touched again.
    assert all(r["purged"] == 900 for r in result["runs"])


def test_notify_bench_quick():
    result = _bench("bench_notify.py")
    # every queued push reached the stand-in, decrypted; none was dropped
    assert result["expected"] > 0 and result["delivered"] == result["expected"]
    assert result["worker"]["dropped"] == 0


def test_fairness_bench_quick():
    """The fairness rule on simulated days: appointments are called near their slot, and
    walk-ins fare better than under "appointments first" (docs/home.md)."""
    result = _bench("bench_fairness.py")
    fair, first = result["runs"]["fair"], result["runs"]["first"]
    assert fair["appointment_called_after_slot_minutes"]["p90"] <= result["params"]["lead"]
    assert (fair["walk_in_wait_minutes"]["p90"] <= first["walk_in_wait_minutes"]["p90"]
            and fair["walk_in_wait_minutes"]["max"] <= first["walk_in_wait_minutes"]["max"])


def test_remote_bench_quick():
    result = _bench("bench_remote.py")  # asserts people ahead and check-ins itself
    assert result["places"] == 5 and result["sqlite_take_ms"]["p50"] > 0


def test_catalog_change_bench_quick():
    for db in ("sqlite", "postgres"):
        result = _bench("bench_catalog_change.py", "--db", db)
        assert result["changes"] == 3 and result["other_process_max_ms"] < 30_000
