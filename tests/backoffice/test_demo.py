"""The demo command starts the back-office on SQLite, serves, issues a ticket and stops."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_check_mode(tmp_path):
    done = subprocess.run([sys.executable, "-m", "devtools.demo", "--check", "--var-dir",
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo check: issued A-001" in done.stdout
    creds = json.loads((tmp_path / "credentials.json").read_text())
    passwords = [a["password"] for a in creds["accounts"]]
    assert all(len(p) >= 12 for p in passwords) and len(set(passwords)) == 3
    assert (tmp_path / "credentials.json").stat().st_mode & 0o077 == 0
    assert (tmp_path / "backoffice.sqlite3").exists()
