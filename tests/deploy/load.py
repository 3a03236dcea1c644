"""Clients of the deployment as the field has them, for the failover test and the city bench.

- `Kiosk`: issues tickets through the proxy with an Idempotency-Key and, like the kiosk app,
  retries the *same* key after any failure (connection lost, 5xx, proxy 503) until it gets
  an answer — so what it saw acknowledged is exactly what must be in the database once.
- `Watcher`: one SSE stream (a lobby display or a phone) through the proxy, in a thread;
  reconnects with Last-Event-ID when the stream ends and records every ticket it saw.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.bench.bench_tickets import HttpClient

RETRYABLE = (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError,
             ValueError, IndexError)


@dataclass
class Acked:
    key: str
    ticket: dict[str, Any]
    seconds: float      # from the first try to the acknowledgement, retries included
    tries: int
    at: float           # time.monotonic() of the acknowledgement


@dataclass
class Kiosk:
    host: str
    port: int
    token: str
    tls: ssl.SSLContext
    acked: list[Acked] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)
    retries: int = 0
    _client: HttpClient | None = None

    async def request(self, method: str, path: str, body: Any = None,
                      key: str | None = None, timeout: float = 15.0,
                      ) -> tuple[int, bytes]:
        """One try on the kept-alive connection; raises RETRYABLE errors."""
        if self._client is None:
            self._client = HttpClient(self.host, self.port, self.token, self.tls)
            await asyncio.wait_for(self._client.connect(), timeout)
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Idempotency-Key": key} if key else {}
        try:
            status, answer = await asyncio.wait_for(
                self._client.request(method, path, data, headers), timeout)
        except BaseException:
            self.close()
            raise
        if status >= 300:
            self.close()  # a proxy error closes the connection; start afresh either way
        return status, answer

    async def issue(self, service: str, *, give_up_after: float = 60.0) -> Acked | None:
        key = uuid.uuid4().hex
        t0 = time.perf_counter()
        tries = 0
        while time.perf_counter() - t0 < give_up_after:
            tries += 1
            try:
                status, data = await self.request("POST", "/api/v1/tickets",
                                                  {"service": service}, key)
            except RETRYABLE:
                self.retries += 1
                await asyncio.sleep(0.1)
                continue
            if status in (200, 201):
                acked = Acked(key, json.loads(data), time.perf_counter() - t0, tries,
                              time.monotonic())
                self.acked.append(acked)
                return acked
            if status >= 500 or status == 429:
                self.retries += 1
                await asyncio.sleep(0.1)
                continue
            self.refused[status] = self.refused.get(status, 0) + 1
            return None
        self.refused[0] = self.refused.get(0, 0) + 1  # gave up: not acknowledged
        return None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class Watcher(threading.Thread):
    """An SSE stream through the proxy that reconnects with Last-Event-ID."""

    def __init__(self, url: str, token: str, ca: str, *, headers: dict[str, str] | None = None,
                 params: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.ca = url, ca
        self.headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        self.params = params or {}
        self.last_id: str | None = None
        self.seen: set[tuple[str, str]] = set()    # (service, number) of ticket events
        self.arrivals: dict[tuple[str, str], float] = {}
        self.snapshots = 0
        self.connects = 0
        self.failures = 0
        self.opened = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        while not self.stopping.is_set():
            headers = dict(self.headers)
            if self.last_id is not None:
                headers["Last-Event-ID"] = self.last_id
            try:
                with session.get(self.url, params=self.params, headers=headers, stream=True,
                                 verify=self.ca, timeout=(10, 60)) as r:
                    if r.status_code != 200:
                        self.failures += 1
                        time.sleep(0.5)
                        continue
                    self.connects += 1
                    self._read(r)
            except (requests.RequestException, OSError, ValueError, AttributeError):
                self.failures += 1
            if not self.stopping.is_set():
                time.sleep(0.2)

    def _read(self, r: requests.Response) -> None:
        name = ""
        for raw in r.iter_lines(chunk_size=None):  # whatever has arrived: no delay
            self.opened.set()
            if self.stopping.is_set():
                return
            line = raw.decode()
            if line.startswith("id: "):
                self.last_id = line[4:]
            elif line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                if name == "snapshot":
                    self.snapshots += 1
                    continue
                ticket = json.loads(line[6:]).get("ticket")
                if ticket and ticket.get("number"):
                    key = (ticket["service"], ticket["number"])
                    self.seen.add(key)
                    self.arrivals.setdefault(key, time.monotonic())

    def stop(self) -> None:
        """Stop reconnecting; the stream ends when the proxy closes it (closing the response
        from here would wait for the reading thread's next line)."""
        self.stopping.set()
