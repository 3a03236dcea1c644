"""Schemathesis fuzzes every operation of the served OpenAPI document: no 5xx anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DEVICE_ONLY = r"^/api/v1/(device/config|device/heartbeat|number-blocks|tickets/by-key/{key})$"
# Streams never end (test_events covers them); logout would revoke the token the run uses;
# the payment webhook answers 503 on purpose while no secret is configured (docs/payment.md).
NEVER = r".*/events$|^/api/v1/auth/logout$|^/api/v1/payments/webhook$"


def _fuzz(server, token: str, *selection: str, examples: int = 6) -> str:
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [str(exe), "run", server.url + "/openapi.json",
           "--checks", "not_a_server_error", "--max-examples", str(examples),
           "--header", f"Authorization: Bearer {token}", *selection,
           "--request-timeout", "20", "--generation-deterministic",
           "--suppress-health-check", "all",
           "--generation-with-security-parameters", "false"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "NO_COLOR": "1"})
    out = (done.stdout + done.stderr)[-8000:]
    assert done.returncode == 0, out
    assert "Server error" not in out and "Authentication failed" not in out, out
    return out


def test_no_server_errors_under_fuzzing(server):
    # The kiosk first: the admin run's DELETE /admin/devices/{id} may revoke its token.
    _fuzz(server, server.kiosk_token,
          "--include-path-regex", f"{DEVICE_ONLY}|^/api/v1/tickets$")
    _fuzz(server, server.login("admin"), "--exclude-path-regex", f"{NEVER}|{DEVICE_ONLY}")
