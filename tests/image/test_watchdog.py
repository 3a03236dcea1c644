"""kiosk.watchdog against a real AF_UNIX datagram socket, as systemd's $NOTIFY_SOCKET is,
and the headless stand-in service feeding it from its main loop."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk import watchdog

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_no_op_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert not watchdog.enabled()
    assert watchdog.ready("x") is False
    assert watchdog.ping() is False
    assert watchdog.ping_interval() is None


def test_messages(notify_socket: socket.socket) -> None:
    assert watchdog.ready("ready: kiosk kita-01\nward kita")
    assert received(notify_socket) == "READY=1\nSTATUS=ready: kiosk kita-01 ward kita"
    assert watchdog.ping()
    assert received(notify_socket) == "WATCHDOG=1"
    assert watchdog.status("offline: 3 waiting")
    assert received(notify_socket) == "STATUS=offline: 3 waiting"
    assert watchdog.stopping()
    assert received(notify_socket) == "STOPPING=1"


def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert watchdog.ping()
        assert sock.recv(100) == b"WATCHDOG=1"


def test_gone_socket_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert watchdog.ping() is False


def test_ping_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog.ping_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert watchdog.ping_interval() is None
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog.ping_interval() == 10.0


def test_standin_service_is_ready_feeds_the_watchdog_and_reports_health(
        notify_socket: socket.socket, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "provisioned").mkdir(parents=True)
    (data / "provisioned" / "applied.json").write_text(json.dumps(
        {"kiosk": {"kiosk_id": "kita-01", "ward": "kita"}, "applied_at": "2026-01-01T00:00:00"}))
    env = dict(os.environ, WATCHDOG_USEC="400000", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.service", "--standin", "--data-dir", str(data),
         "--max-seconds", "1.5"], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        messages = []
        while not messages or messages[-1] != "STOPPING=1":
            messages.append(received(notify_socket))
    finally:
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert messages[0].startswith("READY=1\nSTATUS=")
    assert "kiosk kita-01" in messages[0]
    assert messages.count("WATCHDOG=1") >= 3
    health = json.loads((data / "health.json").read_text())
    assert health["mode"] == "standin"
    assert health["provisioning"] == {"ok": True, "kiosk": "kita-01", "ward": "kita",
                                      "applied_at": "2026-01-01T00:00:00"}
    assert health["catalog"]["ok"] and health["data_partition"]["ok"]
    assert set(health) >= {"clock_synchronised", "card_reader", "printer", "version"}


def test_service_without_standin_says_what_to_run() -> None:
    done = subprocess.run([sys.executable, "-m", "kiosk.service"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "the resident kiosk app is `python -m kiosk`" in done.stderr
