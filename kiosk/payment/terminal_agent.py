"""A payment terminal's own heartbeat (issue #20): a small process beside the terminal,
holding the terminal's own device token (kind `terminal`, enrolled like a kiosk), asks it
every `--every` seconds whether it is alive (nexo Diagnosis) and when it last completed a
transaction (the time of the newest entry of its journal, nexo Reconciliation), and posts
that to the back-office (`POST /api/v1/device/heartbeat`). Never an amount, a card or a
resident: the report is the terminal's state word, one time and error codes.

    python -m kiosk.payment.terminal_agent --backoffice https://queue.city.example.jp \\
        --token-file /etc/ward-terminal/token --terminal 10.0.5.21:4100 [--every 30] [--once]

A kiosk whose terminal has no token of its own keeps reporting it as its `payment_terminal`
component (kiosk/ui/health.py); both may run.
"""

from __future__ import annotations

import argparse
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from kiosk.payment.terminal import NexoTcpTerminal, TerminalError

log = logging.getLogger(__name__)


def _latest(transactions: list[Any]) -> str | None:
    """The newest valid time (ISO 8601 with its zone) of a journal, or None."""
    times = []
    for t in transactions:
        try:
            at = datetime.fromisoformat(str((t or {}).get("timestamp", "")))
        except ValueError:
            continue
        if at.tzinfo is not None:
            times.append(at)
    return max(times).isoformat() if times else None


def report(terminal: NexoTcpTerminal) -> dict[str, Any]:
    """One heartbeat body from the terminal's own answers."""
    word = terminal.diagnosis()
    status = "ok" if word == "ok" else ("error" if word == "offline" else "degraded")
    body: dict[str, Any] = {"status": status, "version": "terminal-agent",
                            "components": {"payment_terminal": word}}
    if word == "ok":
        try:
            last = _latest(terminal.journal()["transactions"])
        except (TerminalError, OSError, ValueError, KeyError):
            body["errors"] = ["journal:unavailable"]
        else:
            if last is not None:
                body["last_transaction_at"] = last
    return body


def send(base_url: str, token: str, body: dict[str, Any], timeout_s: float = 10.0) -> None:
    r = requests.post(base_url.rstrip("/") + "/api/v1/device/heartbeat", json=body,
                      headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s)
    r.raise_for_status()


def run(base_url: str, token: str, terminal: NexoTcpTerminal, every_s: float,
        stop: threading.Event) -> None:
    """Report until `stop` is set; a failed report is logged and tried again next time."""
    while not stop.is_set():
        try:
            send(base_url, token, report(terminal))
        except requests.RequestException as exc:
            log.warning("terminal heartbeat not delivered: %s", exc)
        stop.wait(every_s)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kiosk.payment.terminal_agent",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--backoffice", required=True, help="the back-office's base URL")
    p.add_argument("--token-file", required=True, type=Path,
                   help="the terminal's own device token (kind terminal)")
    p.add_argument("--terminal", required=True, help="host:port of the nexo terminal")
    p.add_argument("--every", type=float, default=30.0, help="seconds between reports")
    p.add_argument("--once", action="store_true", help="one report, then exit")
    args = p.parse_args(argv)
    host, _, port = args.terminal.rpartition(":")
    terminal = NexoTcpTerminal(host, int(port), sale_id="terminal-agent", connect_timeout_s=3.0)
    token = args.token_file.read_text(encoding="utf-8").strip()
    if args.once:
        send(args.backoffice, token, report(terminal))
        return 0
    logging.basicConfig(level=logging.INFO)
    run(args.backoffice, token, terminal, args.every, threading.Event())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
