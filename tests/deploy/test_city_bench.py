"""The city-scale benchmark runs (--quick) through the whole deployment and loses nothing;
it asserts correctness, never timings (figures: docs/operations.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy missing")]


def test_city_scale_bench_quick() -> None:
    done = subprocess.run([sys.executable, "tests/bench/bench_city_scale.py", "--quick"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["issued"] > 0 and result["completed"] > 0
    assert result["streams_open"] == result["streams"] > 24
    assert result["acknowledged_missing"] == result["duplicate_numbers"] == 0
    assert result["completed_not_done"] == result["display_events_missed"] == 0
