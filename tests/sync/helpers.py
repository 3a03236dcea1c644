"""Helpers for the sync tests: settings in a temp dir, applications, a free dead port."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.configfile import load_catalog
from kiosk.domain.application import Application, Identity
from kiosk.domain.my_number import MyNumberCheck
from kiosk.sync.sealing import generate_key
from kiosk.sync.settings import BackofficeSettings, StoreSettings, SyncSettings

CATALOG = load_catalog()
CARD = {"name": "山田\u3000花子", "address": "大阪府堺市北区新金岡町５丁１－１",
        "birth_date": "1985-03-07"}


def dead_url() -> str:
    """An http URL on which nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def settings(tmp: Path, url: str, *, token: str = "dv_test", issue_timeout: float = 1.0,
             block_size: int = 20, refill_below: int = 10, db: str = "kiosk.db",
             **backoffice: float) -> SyncSettings:
    (tmp / "token").write_text(token + "\n")
    key = tmp / "outbox.key"
    if not key.exists():
        generate_key(key)
    b = BackofficeSettings(url=url, ward="kita", device_token_file=tmp / "token",
                           ca_bundle=None, connect_timeout=0.5, read_timeout=2.0,
                           issue_timeout=issue_timeout, retries=2, backoff_base=0.05,
                           backoff_max=0.5, heartbeat_seconds=backoffice.get("heartbeat", 5.0),
                           pull_seconds=60.0, wait_seconds=backoffice.get("waits", 5.0),
                           insecure_http=True)   # the test back-offices speak plain http
    s = StoreSettings(path=tmp / db, key_file=key, block_size=block_size,
                      block_refill_below=refill_below)
    return SyncSettings(backoffice=b, store=s)


def juminhyo() -> Application:
    return Application.build(CATALOG.procedure("juminhyo"),
                             {**CARD, "copies": 1, "purpose": "その他"}, Identity.CARD)


def kokuho() -> Application:
    return Application.build(
        CATALOG.procedure("kokuho_kanyu"),
        {**CARD, "sex": "2", "reason": "退職", "members": 1,
         "my_number": MyNumberCheck.of("123456789018")}, Identity.CARD)


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A scripted back-office on a free port, for the length of the block: its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def send_json(handler: http.server.BaseHTTPRequestHandler, status: int, body: Any) -> None:
    """Answer a scripted back-office's request with a JSON body."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
