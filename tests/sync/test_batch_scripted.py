"""Batch answers the real back-office rarely gives, from a small scripted one: a batch that
fails on the server (500) because of one item, a body over the size limit (413), a batch
answer that does not match the request."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.sync import KioskLink
from kiosk.sync.outbox import enqueue
from kiosk.sync.store import outbox
from tests.sync.helpers import send_json, settings

MAX_ITEMS = 15          # more than this in one batch: 413


class Scripted(http.server.BaseHTTPRequestHandler):
    created: dict[str, int]        # idempotency key -> times created (must stay 1)
    poison: set[str]
    calls: list[str]
    broken_answer: bool
    down: bool                     # every request fails (500), e.g. its database is gone

    def _answer(self, status: int, body: Any) -> None:
        send_json(self, status, body)

    def _issue(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert body["offline"]["number"] > 0
        status = 200 if key in self.created else 201
        self.created.setdefault(key, 1)
        return status, {"id": abs(hash(key)) % 10**6, "number": f"A-{body['offline']['number']}"}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        if self.down:
            self.calls.append("failed")
            return self._answer(500, {"error": "internal", "message": "the server failed"})
        if self.path == "/api/v1/tickets/batch":
            self.calls.append(f"batch {len(body['items'])}")
            if len(body["items"]) > MAX_ITEMS:
                return self._answer(413, {"error": "payload_too_large", "message": "too big"})
            results = []
            for item in body["items"]:
                if item["idempotency_key"] in self.poison:   # the items before it stay
                    return self._answer(500, {"error": "internal", "message": "boom"})
                status, ticket = self._issue(item["idempotency_key"], item)
                results.append({"status": status, "ticket": ticket})
            return self._answer(200, {"results": results[1:] if self.broken_answer
                                      else results})
        if self.path == "/api/v1/tickets":
            key = self.headers["Idempotency-Key"]
            self.calls.append("single")
            if key in self.poison:
                return self._answer(500, {"error": "internal", "message": "boom"})
            return self._answer(*self._issue(key, body))
        return self._answer(503, {"error": "unavailable", "message": "not scripted"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def scripted() -> Iterator[tuple[str, type[Scripted]]]:
    handler = type("S", (Scripted,), {"created": {}, "poison": set(), "calls": [],
                                      "broken_answer": False, "down": False})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _queue(link: KioskLink, n: int) -> list[str]:
    keys = [f"ticket-{i:04d}-" + "k" * 20 for i in range(n)]
    with link.store.write() as conn:
        for i, key in enumerate(keys):
            enqueue(conn, kind="ticket", key=key, ticket_key=key, payload={
                "body": {"service": "certificates", "language": "ja", "priority": "normal"},
                "offline": {"block_id": 1, "number": 901 + i,
                            "issued_at": "2026-11-24T09:00:00+09:00"}})
    return keys


def test_a_failing_item_and_an_oversized_batch(tmp_path: Path,
                                               scripted: tuple[str, type[Scripted]]) -> None:
    url, handler = scripted
    link = KioskLink(settings(tmp_path, url))
    keys = _queue(link, 60)
    handler.poison.add(keys[33])
    assert link.sync_now() == 59          # everything but the culprit, in one wave
    assert sorted(handler.created) == sorted(k for k in keys if k != keys[33])
    assert set(handler.created.values()) == {1}
    # 413 halved the batches (20 → 10 + 10); the half the culprit broke went one by one.
    assert "batch 20" in handler.calls and "batch 10" in handler.calls
    assert handler.calls.count("single") == 10
    with link.store.read() as conn:
        left = conn.execute(outbox.select()).all()
    # The culprit is kept and retried, as on the single path: not refused for good.
    assert [(r.key, r.dead, r.attempts) for r in left] == [(keys[33], False, 1)]
    assert "500" in left[0].last_error
    handler.poison.clear()
    assert link.sync_now() == 1 and link.pending() == 0
    link.stop()


def test_an_answer_that_does_not_match_is_not_trusted(
        tmp_path: Path, scripted: tuple[str, type[Scripted]]) -> None:
    url, handler = scripted
    handler.broken_answer = True             # one result short
    link = KioskLink(settings(tmp_path, url))
    keys = _queue(link, 10)
    assert link.sync_now() == 10
    assert handler.calls == ["batch 10"] + ["single"] * 10   # replays, nothing twice
    assert sorted(handler.created) == sorted(keys)
    link.stop()


def test_a_failing_backoffice_is_not_hammered(tmp_path: Path,
                                              scripted: tuple[str, type[Scripted]]) -> None:
    url, handler = scripted
    handler.down = True
    link = KioskLink(settings(tmp_path, url))
    _queue(link, 60)
    assert link.sync_now() == 0
    # One batch, then three tickets alone to tell one bad item from a sick server.
    assert handler.calls == ["failed"] * 4
    with link.store.read() as conn:
        assert {(r.dead, r.attempts) for r in conn.execute(outbox.select())} == {(False, 1)}
    handler.down = False
    assert link.sync_now() == 60
    link.stop()


def test_tickets_the_backoffice_fails_on_do_not_hold_the_others_back(
        tmp_path: Path, scripted: tuple[str, type[Scripted]]) -> None:
    """The first three tickets of the outbox make the back-office fail (500) every time:
    the probe that tells a sick server from bad items must not keep picking them, or no
    other ticket would ever get through."""
    url, handler = scripted
    link = KioskLink(settings(tmp_path, url))
    keys = _queue(link, 60)
    handler.poison.update(keys[:3])
    acked = sum(link.sync_now() for _ in range(3))
    assert acked == 57
    assert sorted(handler.created) == sorted(keys[3:])
    assert link.pending() == 3
    link.stop()
