"""The printing benchmark runs (timings are reported by it, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_printing_quick() -> None:
    out = subprocess.run([sys.executable, "tests/bench/bench_printing.py", "--quick"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "printing" and figures["quick"] is True
    for case in ("ticket_raster", "ticket_sjis", "form_juminhyo", "print_over_tcp_raster"):
        assert figures[case]["runs"] >= 3
