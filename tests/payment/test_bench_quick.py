"""The payment benchmark runs (figures are not asserted: timings belong to the bench)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_payment_quick(tmp_path: Path) -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1",
           "KIVY_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "tests/bench/bench_payment.py", "--quick"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "payment_qr" and figures["runs"] == 20
    assert figures["total"]["median_ms"] > 0
