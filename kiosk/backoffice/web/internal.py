"""Ask the back-office's own JSON API from inside a page route, in-process.

The pages depend only on the documented API (docs/api.md), not on the back-office's
internals: a server-rendered page (the phone status page, a role check before serving
the supervisor page) sends an ASGI request straight to the running app — no socket, no
second HTTP client — forwarding the caller's cookies so the API applies its own rules.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


async def get(request: Request, path: str, *, query: str = "",
              headers: Mapping[str, str] | None = None, forward_auth: bool = True) -> Answer:
    """GET `path` from the same app as `request`; the caller's Cookie/Authorization go along."""
    host = request.headers.get("host", "internal").encode()
    raw_headers: list[tuple[bytes, bytes]] = [(b"accept", b"application/json"), (b"host", host)]
    if forward_auth:
        for name in ("cookie", "authorization"):
            value = request.headers.get(name)
            if value:
                raw_headers.append((name.encode(), value.encode("latin-1")))
    for name, value in (headers or {}).items():
        raw_headers.append((name.lower().encode(), value.encode("latin-1")))
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": request.url.scheme, "path": path, "raw_path": path.encode(),
        "root_path": "", "query_string": query.encode(), "headers": raw_headers,
        "client": request.scope.get("client"), "server": request.scope.get("server"),
        "app": request.app, "state": dict(request.scope.get("state") or {}),
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    status = 500
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await request.app(scope, receive, send)
    except Exception:  # the app has answered 500 already and re-raises for its log
        log.exception("in-process GET %s failed", path)
        return Answer(500, b"")
    return Answer(status, b"".join(chunks))
