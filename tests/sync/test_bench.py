"""The sync benchmark runs (--quick); timings are not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_sync_quick() -> None:
    out = subprocess.run([sys.executable, str(REPO / "tests/bench/bench_sync.py"), "--quick"],
                         cwd=REPO, capture_output=True, text=True, timeout=240, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["queued"] == 50 and figures["left_after_drain"] == 0
    assert figures["drain_seconds"] > 0 and figures["store_outbox_p50_ms"] > 0
    assert figures["drain"] == "batch" and set(figures["drain_requests"]) == {"batch"}
