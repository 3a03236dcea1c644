"""Stand-ins for the payment devices: a code-payment provider (HTTP) and a nexo-style
payment terminal (TCP). Both behave like the real thing, failures included, and can be
told how to behave next through a control channel the real devices do not have."""

from __future__ import annotations

import argparse
import json
import logging
import socketserver
from http.server import BaseHTTPRequestHandler
from typing import Any


def arguments(description: str) -> argparse.ArgumentParser:
    """The options every stand-in takes: where to listen (port 0 = any free port)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    return ap


def serve(server: socketserver.BaseServer, banner: str) -> int:
    """Announce the bound port on stdout (tests read it) and serve until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(f"{banner} {server.server_address[1]}", flush=True)  # type: ignore[index]
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


class JsonHandler(BaseHTTPRequestHandler):
    """What the HTTP stand-ins share: keep-alive, quiet request logs, JSON answers."""

    protocol_version = "HTTP/1.1"
    content_type = "application/json"

    def log_message(self, format: str, *args: Any) -> None:
        logging.getLogger(type(self).__module__).debug(format, *args)

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
