"""Fixtures for payment tests: the provider and terminal stand-ins as real processes."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def _spawn(args: list[str], banner: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(banner):
        proc.kill()
        raise RuntimeError(f"{args[0]} did not start: {line!r}")
    return proc, int(line.split()[-1])


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Provider:
    url: str
    api_key: str
    secret: str

    def behave(self, **behaviour: Any) -> dict[str, Any]:
        r = requests.post(f"{self.url}/_control/behaviour", json=behaviour, timeout=5)
        r.raise_for_status()
        return r.json()

    def scan(self, provider_id: str) -> dict[str, Any]:
        r = requests.post(f"{self.url}/_control/payments/{provider_id}/scan", timeout=5)
        r.raise_for_status()
        return r.json()

    def deliveries(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/_control/webhooks", timeout=5).json()["deliveries"]

    def settlements(self, day: str) -> list[dict[str, Any]]:
        r = requests.get(f"{self.url}/v1/settlements", params={"date": day}, timeout=5,
                         headers={"Authorization": f"Bearer {self.api_key}"})
        return r.json()["payments"]


@pytest.fixture
def provider() -> Iterator[Provider]:
    key, secret = secrets.token_hex(8), secrets.token_hex(16)
    proc, port = _spawn(["hardware.payment.provider", "--port", "0", "--api-key", key,
                         "--secret", secret], "PROVIDER LISTENING")
    try:
        yield Provider(f"http://127.0.0.1:{port}", key, secret)
    finally:
        _stop(proc)


@dataclass
class Terminal:
    port: int

    def control(self, **ctl: Any) -> dict[str, Any]:
        with socket.create_connection(("127.0.0.1", self.port), 3) as s:
            s.sendall(json.dumps({"Control": ctl}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        result: dict[str, Any] = json.loads(data)
        return result

    def journal(self) -> list[dict[str, Any]]:
        return list(self.control(journal=True)["Journal"])


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    proc, port = _spawn(["hardware.payment.terminal", "--port", "0"], "TERMINAL LISTENING")
    try:
        yield Terminal(port)
    finally:
        _stop(proc)


@dataclass
class Office:
    """A back-office process with the payment router, plus the stand-ins it talks to."""

    url: str
    tokens: dict[str, str]
    tickets: list[int]
    provider: Provider
    terminal: Terminal
    log: Path

    def session(self, who: str = "kiosk-kita") -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return s

    def payments_of(self, ticket_id: int, who: str = "staff") -> dict[str, Any]:
        r = self.session(who).get(f"{self.url}/api/v1/tickets/{ticket_id}/payments", timeout=5)
        r.raise_for_status()
        return r.json()


@pytest.fixture
def office(provider: Provider, terminal: Terminal, tmp_path: Path) -> Iterator[Office]:
    cfg = tmp_path / "payment.toml"
    cfg.write_text(f"""
[kiosk]
poll_seconds = 0.2
[kiosk.terminal]
port = {terminal.port}
timeout = 5.0
[backoffice]
provider_url = "{provider.url}"
code_expiry = 30
poll_after = 0.5
webhook_tolerance = 60
merchant_name = "SAKAI CITY KITA WARD"
merchant_name_ja = "堺市北区役所"
""")
    seed = tmp_path / "seed.json"
    log = tmp_path / "backoffice.log"
    env = {**os.environ, "PAYMENT_CONFIG": str(cfg), "PAYMENT_PROVIDER_API_KEY": provider.api_key,
           "PAYMENT_WEBHOOK_SECRET": provider.secret}
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.payment.bo_server", "--db",
             f"sqlite:///{tmp_path / 'bo.db'}", "--seed", str(seed)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("BACKOFFICE LISTENING"):
        proc.kill()
        raise RuntimeError(f"back-office did not start: {log.read_text()[-2000:]}")
    data = json.loads(seed.read_text())
    try:
        yield Office(f"http://127.0.0.1:{data['port']}", data["tokens"], data["tickets"],
                     provider, terminal, log)
    finally:
        _stop(proc)
