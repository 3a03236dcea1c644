"""The web benchmark runs (figures are read from its output, never asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.browser
@pytest.mark.slow
def test_bench_web_quick_runs() -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium is not installed")
    out = subprocess.run([sys.executable, "tests/bench/bench_web.py", "--quick"], cwd=REPO,
                         capture_output=True, text=True, timeout=240, check=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["bench"] == "web" and figures["calls"] == 5
    assert figures["display_call_latency_ms_p50"] > 0
