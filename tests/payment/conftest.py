"""Fixtures for payment tests: the provider and terminal stand-ins as real processes."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.configfile import load_catalog
from kiosk.domain.application import Application, Identity
from tests.support.backoffice import ServerFactory

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


@contextmanager
def _provider_process() -> Iterator[Provider]:
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
    terminal_id: str = "T-001"   # its nexo POIID
    key: str = ""                # hex, as registered with the back-office

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


@contextmanager
def _terminal_process(terminal_id: str = "T-001") -> Iterator[Terminal]:
    """The terminal stand-in with a fresh key of its own (as loaded by the acquirer)."""
    key = secrets.token_hex(32)
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "terminal.key"
        key_file.write_text(key)
        proc, port = _spawn(["hardware.payment.terminal", "--port", "0", "--poi-id",
                             terminal_id, "--key-file", str(key_file)], "TERMINAL LISTENING")
        try:
            yield Terminal(port, terminal_id, key)
        finally:
            _stop(proc)


def register_terminal(url: str, admin_token: str, terminal: Terminal,
                      device: str = "kiosk-kita-1") -> None:
    """The admin binds the terminal and its key to the kiosk that uses it."""
    r = requests.post(f"{url}/api/v1/admin/payment-terminals", timeout=10,
                      headers={"Authorization": f"Bearer {admin_token}"},
                      json={"device": device, "terminal_id": terminal.terminal_id,
                            "key": terminal.key})
    assert r.status_code == 201, r.text
    assert "key" not in r.json()  # a given key is never echoed


@dataclass
class OfficeApi:
    """A back-office process's URL and its callers' tokens, by role."""

    url: str
    tokens: dict[str, str]

    def session(self, who: str = "kiosk-kita") -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return s

    def payments_of(self, ticket_id: int, who: str = "staff") -> dict[str, Any]:
        r = self.session(who).get(f"{self.url}/api/v1/tickets/{ticket_id}/payments", timeout=5)
        r.raise_for_status()
        return r.json()


@dataclass
class Office(OfficeApi):
    """A back-office process with the payment router, plus the stand-ins it talks to."""

    tickets: list[int]
    provider: Provider
    terminal: Terminal
    log: Path
    db_url: str


# The tickets every office test starts with: (procedure, resident's choices). The server
# computes the fees from the catalog: 600 (2 copies), 300, 450, 300 yen.
TICKETS = [("juminhyo", {"copies": 2}), ("inkan", {"copies": 1}), ("koseki", {"copies": 1}),
           ("juminhyo", {"copies": 1, "purpose": "勤務先へ提出"})]
RESIDENT = {"name": "区役 花子", "address": "堺市北区新金岡町5丁1-4", "birth_date": "1985-04-01"}
EXTRA = {"koseki": {"honseki": "堺市北区新金岡町5丁1", "hittosha": "区役 太郎"}}


def issue_ticket(url: str, token: str, procedure: str, choices: dict[str, Any]) -> dict[str, Any]:
    catalog = load_catalog()
    application = Application.build(
        catalog.procedure(procedure), {**RESIDENT, **EXTRA.get(procedure, {}), **choices},
        Identity.TYPED)
    r = requests.post(f"{url}/api/v1/tickets", timeout=10,
                      headers={"Authorization": f"Bearer {token}",
                               "Idempotency-Key": secrets.token_hex(8)},
                      json={"procedure": procedure, "application": application.to_dict()})
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


@pytest.fixture
def provider() -> Iterator[Provider]:
    with _provider_process() as p:
        yield p


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    with _terminal_process() as t:
        yield t


@pytest.fixture(scope="module")
def office_processes(tmp_path_factory: pytest.TempPathFactory,
                     request: pytest.FixtureRequest) -> Iterator[Office]:
    """One back-office, provider and terminal for a whole test module (starting them
    costs seconds on a busy machine); `office` gives each test fresh tickets. A module
    sets ``DATABASE = "postgres"`` to run its back-office on the private PostgreSQL."""
    with _provider_process() as provider, _terminal_process() as terminal:
        yield from _office(provider, terminal, tmp_path_factory.mktemp("office"), request,
                           getattr(request.module, "DATABASE", None))


@pytest.fixture
def office(office_processes: Office) -> Office:
    requests.post(f"{office_processes.provider.url}/_control/reset", timeout=5).raise_for_status()
    office_processes.terminal.control(outcome="succeed", delay_s=0.3, disconnect_then="paid")
    tickets = [issue_ticket(office_processes.url, office_processes.tokens["kiosk-kita"], p, c)["id"]
               for p, c in TICKETS]
    return replace(office_processes, tickets=tickets)


def _office(provider: Provider, terminal: Terminal, tmp_path: Path,
            request: pytest.FixtureRequest, database: str | None) -> Iterator[Office]:
    """The back-office as the back-office tests start it (tests/support/backoffice.py:
    `python -m kiosk.backoffice serve`, migrated and seeded), told where the provider is."""
    payment = {"provider_url": provider.url, "code_expiry": 30, "poll_after": 0.5,
               "webhook_tolerance": 60, "merchant_name": "SAKAI CITY KITA WARD",
               "merchant_name_ja": "堺市北区役所"}
    env = {"PAYMENT_PROVIDER_API_KEY": provider.api_key,
           "PAYMENT_WEBHOOK_SECRET": provider.secret}
    factory = ServerFactory(tmp_path, request)
    try:
        server = factory.start(database, config={"payment": payment}, env=env)
        tokens = {"kiosk-kita": server.kiosk_token,
                  "kiosk-naka": server.device_tokens[("kiosk", "naka")],
                  "staff": server.login("staff"), "boss": server.login("supervisor"),
                  "admin": server.login("admin"), "display-kita": server.display_token}
        register_terminal(server.url, tokens["admin"], terminal)
        yield Office(server.url, tokens, [], provider, terminal, server.log_path,
                     server.db_url)
    finally:
        factory.close()
