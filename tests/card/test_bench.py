"""The benchmark runs (--quick); its figures are read, not asserted — except the APDU
count, which is a property of the protocol, not of the machine."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = pytest.mark.pcsc


def test_bench_card_quick():
    result = subprocess.run([sys.executable, "tests/bench/bench_card.py", "--quick"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "card" and figures["quick"] is True
    assert figures["results"]["read"]["apdus"] == 6
    assert figures["apdus_ok"] is True
    assert figures["results"]["code B read"]["apdus"] == 6
    assert figures["results"]["code B, kiosk order"]["apdus"] == 8
    assert figures["code_b_apdus_ok"] is True
