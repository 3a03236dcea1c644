"""Schemathesis fuzzes the payment operations of the served OpenAPI document: no 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.payment.conftest import Office

pytestmark = pytest.mark.slow

# The webhook is fuzzed by the signature tests; streams never end.
PAYMENTS = r"^/api/v1/(payments/(?!webhook).*|tickets/\{ticket_id\}/payments)$"


@pytest.mark.parametrize("who", ["boss", "kiosk-kita"])
def test_no_server_errors_under_fuzzing(office: Office, who: str) -> None:
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [str(exe), "run", office.url + "/openapi.json", "--checks", "not_a_server_error",
           "--max-examples", "8", "--include-path-regex", PAYMENTS,
           "--header", f"Authorization: Bearer {office.tokens[who]}",
           "--request-timeout", "20", "--generation-deterministic",
           "--suppress-health-check", "all", "--generation-with-security-parameters", "false"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "NO_COLOR": "1"})
    out = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, out
    assert "Server error" not in out, out
    assert "Operations:       9 selected" in out, out  # every payment operation ran
