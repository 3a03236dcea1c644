"""Withdrawing a ticket nobody holds (docs/api-requests-sync.md #1), against a small
scripted back-office that offers the requested lookup and kiosk cancel — the real one
does not yet; the fault tests mark that gap as an expected failure."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.sync import KioskLink
from kiosk.sync.store import outbox
from tests.sync.helpers import send_json, settings


class FakeBackoffice(http.server.BaseHTTPRequestHandler):
    tickets: dict[str, dict[str, Any]]
    calls: list[str]

    def _answer(self, status: int, body: Any) -> None:
        send_json(self, status, body)

    def do_GET(self) -> None:
        self.calls.append(f"GET {self.path}")
        if self.path == "/openapi.json":
            return self._answer(200, {"paths": {"/api/v1/tickets/by-key/{key}": {}}})
        if self.path.startswith("/api/v1/tickets/by-key/"):
            key = self.path.rsplit("/", 1)[1]
            if key in self.tickets:
                return self._answer(200, self.tickets[key])
            return self._answer(404, {"error": "not_found", "message": "no such ticket"})
        return self._answer(503, {"error": "unavailable", "message": "not scripted"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.calls.append(f"POST {self.path}")
        if self.path.endswith("/cancel"):
            ticket_id = int(self.path.split("/")[-2])
            for t in self.tickets.values():
                if t["id"] == ticket_id:
                    t["status"] = "cancelled"
                    return self._answer(200, t)
        return self._answer(503, {"error": "unavailable", "message": "not scripted"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def fake() -> Iterator[tuple[str, type[FakeBackoffice]]]:
    handler = type("Fake", (FakeBackoffice,), {"tickets": {}, "calls": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _void(link: KioskLink, key: str) -> None:
    from kiosk.sync.outbox import enqueue
    with link.store.write() as conn:
        enqueue(conn, kind="void", key=key, ticket_key=key,
                payload={"body": {"service": "certificates"}, "offline": None})


def test_a_ticket_that_arrived_is_cancelled(tmp_path: Path,
                                            fake: tuple[str, type[FakeBackoffice]]) -> None:
    url, handler = fake
    handler.tickets["k" * 32] = {"id": 7, "number": "A-105", "status": "waiting"}
    link = KioskLink(settings(tmp_path, url))
    _void(link, "k" * 32)
    _void(link, "n" * 32)                   # never arrived
    assert link.sync_now() == 2
    assert handler.tickets["k" * 32]["status"] == "cancelled"
    assert "POST /api/v1/tickets/7/cancel" in handler.calls
    assert not any("/api/v1/tickets " in c or c == "POST /api/v1/tickets"
                   for c in handler.calls)   # nothing was (re)created
    with link.store.read() as conn:
        assert conn.execute(outbox.select()).first() is None
    link.stop()


def test_without_the_lookup_nothing_is_created(tmp_path: Path,
                                               fake: tuple[str, type[FakeBackoffice]]
                                               ) -> None:
    url, handler = fake
    original = handler.do_GET

    def no_lookup(self: FakeBackoffice) -> None:
        if self.path == "/openapi.json":
            self.calls.append("GET /openapi.json")
            return self._answer(200, {"paths": {"/api/v1/tickets": {}}})
        return original(self)

    handler.do_GET = no_lookup  # type: ignore[method-assign]
    link = KioskLink(settings(tmp_path, url))
    _void(link, "k" * 32)
    assert link.sync_now() == 0
    status = link.status()
    assert status.pending == 0 and status.dead == 1       # kept, visible, logged
    assert handler.calls == ["GET /openapi.json"]
    link.stop()
