"""Run the real back-office as a subprocess for the sync benchmark (outside pytest):
fresh SQLite database in a temp dir, migrated and seeded, free port, opening hours off.
The tests use the shared `backoffice` fixture (tests/support/backoffice.py) instead."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from kiosk.configfile import CONFIG_DIR

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalBackoffice:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sync-bo-"))
        self.db_url = f"sqlite:///{self.dir / 'bo.db'}"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = (CONFIG_DIR / "backoffice.toml").read_text(encoding="utf-8")
        config = config.replace("enforce_opening_hours = true", "enforce_opening_hours = false")
        config = config.replace('public_url = ""', f'public_url = "{self.url}"')
        (self.dir / "backoffice.toml").write_text(config, encoding="utf-8")
        self._run("migrate")
        self._run("seed-demo", "--credentials-out", str(self.dir / "cred.json"))
        cred = json.loads((self.dir / "cred.json").read_text())
        self.kiosk_token = next(d["token"] for d in cred["devices"]
                                if d["kind"] == "kiosk" and d["ward"] == "kita")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def _run(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "kiosk.backoffice", args[0], "--db", self.db_url,
                        *args[1:]], cwd=REPO, check=True, capture_output=True)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.backoffice", "serve", "--db", self.db_url,
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "WARNING",
             "--config", str(self.dir / "backoffice.toml")],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "log", "ab"))
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("back-office did not start: " + (self.dir / "log").read_text()[-2000:])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def session(self, who: str) -> requests.Session:
        s = requests.Session()
        if who == "kiosk":
            token = self.kiosk_token
        else:
            cred = json.loads((self.dir / "cred.json").read_text())
            password = next(a["password"] for a in cred["accounts"] if a["username"] == who)
            token = requests.post(f"{self.url}/api/v1/auth/login",
                                  json={"username": who, "password": password},
                                  timeout=5).json()["token"]
        s.headers["Authorization"] = f"Bearer {token}"
        return s
