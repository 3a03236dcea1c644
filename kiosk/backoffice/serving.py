"""Serving with several processes: each listens on the port itself (SO_REUSEPORT)."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from typing import Any

import uvicorn

from kiosk.logsetup import uvicorn_log_config

log = logging.getLogger(__name__)

UVICORN: dict[str, Any] = {"loop": "uvloop", "http": "httptools", "access_log": False,
                            "timeout_graceful_shutdown": 2, "backlog": 2048}


def _worker(host: str, port: int, log_level: str) -> None:
    """One server process with its own listening socket (SO_REUSEPORT)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(UVICORN["backlog"])
    config = uvicorn.Config("kiosk.backoffice.app:app_from_env", factory=True,
                            log_level=log_level.lower(),
                            log_config=uvicorn_log_config(log_level), **UVICORN)
    uvicorn.Server(config).run(sockets=[sock])


def serve_reuseport(host: str, port: int, workers: int, log_level: str) -> int:
    """Several processes, each listening on the port with SO_REUSEPORT, so the kernel spreads
    connections over them evenly (uvicorn's workers share one socket, and long keep-alive
    connections then pile onto whichever process accepted first). A dead worker is
    restarted; SIGTERM/SIGINT stop them all."""
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> Any:
        proc = ctx.Process(target=_worker, args=(host, port, log_level),
                           daemon=False)
        proc.start()
        return proc

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    procs = [start() for _ in range(workers)]
    while not stopping:
        time.sleep(0.2)
        for i, proc in enumerate(procs):
            if not proc.is_alive() and not stopping:
                log.warning("worker %s exited with %s; restarting", proc.pid, proc.exitcode)
                procs[i] = start()
    for proc in procs:
        if proc.is_alive():
            proc.terminate()  # uvicorn's own graceful shutdown on SIGTERM
    for proc in procs:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    return 0
