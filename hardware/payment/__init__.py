"""Stand-ins for the payment devices: a code-payment provider (HTTP) and a nexo-style
payment terminal (TCP). Both behave like the real thing, failures included, and can be
told how to behave next through a control channel the real devices do not have."""

from __future__ import annotations

import argparse
import logging
import socketserver


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
