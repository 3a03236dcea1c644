"""Helpers for the back-office tests."""

from __future__ import annotations

import contextlib
import json
import queue as queue_mod
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.backoffice import BackofficeServer, ServerFactory

APPLICATION = {"procedure": "juminhyo", "identity": "card",
               "values": {"name": "山田\u3000太郎", "address": "堺市北区１－２",
                          "birth_date": "1980-01-02", "copies": 2}}


def issue(server: BackofficeServer, who: str = "kiosk", key: str | None = None,
          **body: Any) -> requests.Response:
    body.setdefault("service", "certificates")
    return server.session(who).post(server.api("/tickets"), json=body, timeout=10,
                                    headers={"Idempotency-Key": key or uuid.uuid4().hex})


def ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json() if r.content else None


def serve_next(server: BackofficeServer, counter: int, n: int = 1, *, ward: str = "kita",
               seconds: float = 0.0) -> None:
    """`n` tickets called at `counter`, started and completed (`seconds` at the counter)."""
    staff = server.session("staff")
    for _ in range(n):
        t = ok(staff.post(server.api(f"/wards/{ward}/counters/{counter}/call-next")))
        ok(staff.post(server.api(f"/tickets/{t['id']}/start")))
        time.sleep(seconds)
        ok(staff.post(server.api(f"/tickets/{t['id']}/complete")))


# --- in-process helpers (the real database, no HTTP) -----------------------------------

def make_backoffice(db_url: str, **queue_settings: Any) -> Any:
    """A migrated, seeded Backoffice context for calling kiosk.backoffice.engine directly."""
    from dataclasses import replace

    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.context import Backoffice
    from kiosk.configfile import load_catalog
    from tests.support.backoffice import prepare_database

    prepare_database(db_url)
    settings = load_settings()
    settings = replace(settings, queue=replace(settings.queue, enforce_opening_hours=False,
                                               **queue_settings),
                       server=replace(settings.server, db_pool_size=24))  # many test threads
    return Backoffice(db_url, settings, load_catalog())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bo(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """A migrated, seeded Backoffice on SQLite and on PostgreSQL (a module may define its
    own `bo`)."""
    url = (f"sqlite:///{tmp_path}/bo.sqlite3" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    backoffice = make_backoffice(url)
    yield backoffice
    backoffice.engine.dispose()


def admin() -> Any:
    from kiosk.backoffice.auth import Principal

    return Principal("staff", None, username="tester", role="admin")


def kiosk(bo: Any, ward: str = "kita") -> Any:
    from sqlalchemy import select

    from kiosk.backoffice import models as m
    from kiosk.backoffice.auth import Principal
    from kiosk.backoffice.db import reading

    with reading(bo.engine) as conn:
        device_id = conn.execute(select(m.devices.c.id).where(
            m.devices.c.kind == "kiosk", m.devices.c.ward == ward)).scalars().first()
    return Principal("device", ward, device_id=device_id, device_kind="kiosk",
                     device_name=f"kiosk-{ward}-1")


def request(service: str = "certificates", priority: str = "normal", **kw: Any) -> Any:
    from kiosk.backoffice.engine.issuing import TicketRequest

    return TicketRequest(ward=kw.pop("ward", "kita"), service=service, procedure=None,
                         application=None, priority=priority, language="ja", **kw)


def new_ticket(bo: Any, service: str = "certificates", priority: str = "normal") -> Any:
    from kiosk.backoffice.engine.issuing import issue as issue_ticket

    ticket, _ = issue_ticket(bo, kiosk(bo), request(service, priority), uuid.uuid4().hex, "")
    return ticket


def make_backoffice_no_prepare(db_url: str) -> Any:
    """The context over an already prepared database (another process's view of it)."""
    from dataclasses import replace

    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.context import Backoffice
    from kiosk.configfile import load_catalog

    settings = load_settings()
    settings = replace(settings, queue=replace(settings.queue, enforce_opening_hours=False),
                       server=replace(settings.server, db_pool_size=24))
    return Backoffice(db_url, settings, load_catalog())


# --- HTTP helpers ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackofficeServer]:
    """One SQLite back-office shared by a module's tests (they must not assume a clean DB)."""
    factory = ServerFactory(tmp_path_factory.mktemp("bo"))
    try:
        yield factory.start()
    finally:
        factory.close()


class SseReader:
    """Reads a text/event-stream in a thread; `next(type)` waits for the next such event.

    A plain socket speaking HTTP/1.0 (no chunking), so `close()` can shut it down at once
    even while the reading thread is blocked in recv()."""

    def __init__(self, url: str, token: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        h = {"Host": parts.netloc, "Accept": "text/event-stream", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        head = f"GET {path} HTTP/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        self.sock.sendall((head + "\r\n").encode())
        self.file = self.sock.makefile("rb")
        status_line = self.file.readline().decode()
        self.status = int(status_line.split()[1])
        while self.file.readline() not in (b"\r\n", b"\n", b""):
            pass
        if self.status != 200:
            body = self.file.read().decode(errors="replace")
            self.close()
            raise AssertionError(f"SSE answered {self.status}: {body}")
        self.sock.settimeout(None)
        self.events: queue_mod.Queue[tuple[str, Any, str | None]] = queue_mod.Queue()
        self.raw = bytearray()  # every byte of the body, as the server sent it
        self.ended = threading.Event()  # set when the server ended the stream
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        name, data, event_id = "message", [], None
        try:
            for raw in self.file:
                self.raw += raw
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if data:
                        self.events.put((name, json.loads("\n".join(data)), event_id))
                    name, data, event_id = "message", [], None
                elif line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line.startswith("id: "):
                    event_id = line[4:]
        except (OSError, ValueError):  # the stream ends when the test closes it
            pass
        finally:
            self.ended.set()

    def next(self, kind: str | None = None, timeout: float = 10.0) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind or 'event'} within {timeout} s")
            try:
                name, data, _ = self.events.get(timeout=left)
            except queue_mod.Empty:
                continue
            if kind is None or name == kind:
                return name, data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def in_parallel(work: Any, count: int = 12) -> list[str]:
    """`work(i)` in `count` threads at once: "ok" or the engine's refusal code of each."""
    from kiosk.backoffice.engine.errors import EngineError

    results: list[str] = []

    def one(i: int) -> None:
        try:
            work(i)
            results.append("ok")
        except EngineError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)
