"""An HTTP reverse proxy for the sync tests: forwards every request to the back-office and
counts them by method and path, so a test sees how many requests a drain took without
asking the code under test. `refuse` makes it answer a path itself with a status, the
way an older back-office without that endpoint does (404 Not Found / 405 Method Not
Allowed, FastAPI's body). An unreachable back-office is answered 502, like a real proxy.

Listens on a free port of 127.0.0.1; one thread per connection.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
              "proxy-connection", "te", "trailer", "upgrade"}
REASONS = {404: "Not Found", 405: "Method Not Allowed"}


class HttpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.counts: Counter[str] = Counter()    # "POST /api/v1/tickets/batch" -> n
        self.refuse: dict[tuple[str, str], int] = {}   # (method, path) -> status
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with proxy._lock:
                    proxy.counts[f"{self.command} {path}"] += 1
                    refused = proxy.refuse.get((self.command, path))
                if refused is not None:
                    detail = REASONS.get(refused, "Refused")
                    self._answer(refused, [("Content-Type", "application/json")],
                                 json.dumps({"detail": detail}).encode())
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                conn = http.client.HTTPConnection(*proxy.target, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                except OSError as exc:
                    self._answer(502, [("Content-Type", "application/json")], json.dumps(
                        {"error": "bad_gateway", "message": str(exc)}).encode())
                    return
                finally:
                    conn.close()
                self._answer(resp.status, [(k, v) for k, v in resp.getheaders()
                                           if k.lower() not in HOP_BY_HOP], data)

            def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="httpproxy")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return self.counts[f"{method} {path}"]

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
