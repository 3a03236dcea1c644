"""The kiosk's own health, reported to the back-office with its heartbeat (issue #20).

A worker thread asks the printer (DLE EOT: paper near end / out, cover, offline), the card
reader (is one attached to pcscd?), the payment terminal if there is one (nexo Diagnosis:
is it alive?) and the data partition (free MB) every few seconds —
only while the kiosk is idle, so a probe never shares the printer or the reader with a
resident's visit — and hands a *change* to the link (`KioskLink.report_health`), which
sends it at once; the link's periodic heartbeat repeats the latest with the outbox
backlog, the version, the uptime and the last successful sync. No Kivy here.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DISK_STEP_MB = 50   # a smaller change of free disk is not news


def printer_word(status: Any) -> str:
    """kiosk.printing's PrinterStatus as the heartbeat's word."""
    # A printer out of paper or with its cover open also says "offline" (ESC/POS): the
    # cause first.
    paper = str(getattr(status.paper, "value", status.paper))
    if paper == "out":
        return "paper_out"
    if status.cover_open:
        return "cover_open"
    if not status.online:
        return "offline"
    if status.error:
        return "error"
    return "paper_near_end" if paper == "near_end" else "ok"


def reader_word(readers: Callable[[], list[str]]) -> str:
    try:
        return "ok" if readers() else "missing"
    except Exception:  # noqa: BLE001 — pcscd gone or refusing: no reader to use either way
        return "missing"


def disk_free_mb(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free // (1024 * 1024)
    except OSError:
        return None


class HealthReporter:
    """Probes the kiosk's devices while `idle()` and reports what changed through `send`
    (`KioskLink.report_health`'s keywords)."""

    def __init__(self, send: Callable[..., None], *, printer_status: Callable[[], Any],
                 readers: Callable[[], list[str]] | None, data_dir: Path,
                 idle: Callable[[], bool], every: float = 10.0,
                 terminal: Callable[[], str] | None = None) -> None:
        self.send = send
        self.terminal = terminal   # the payment terminal's diagnosis word; None: no terminal
        self.printer_status = printer_status
        self.readers = readers
        self.data_dir = data_dir
        self.idle = idle
        self.every = every
        self.last: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def probe(self) -> dict[str, Any]:
        try:
            printer = printer_word(self.printer_status())
        except Exception:  # a printer that cannot even be asked is not reachable
            log.warning("printer status unavailable", exc_info=True)
            printer = "offline"
        reader = reader_word(self.readers) if self.readers is not None else "none"
        found = {"printer": printer, "card_reader": reader,
                 "disk_free_mb": disk_free_mb(self.data_dir)}
        if self.terminal is not None:
            try:
                found["payment_terminal"] = self.terminal()
            except Exception:  # noqa: BLE001 — a terminal that cannot be asked is not there
                found["payment_terminal"] = "offline"
        return found

    def _news(self, now: dict[str, Any]) -> bool:
        last = self.last
        if last is None or any(now.get(k) != last.get(k)
                               for k in ("printer", "card_reader", "payment_terminal")):
            return True
        old, new = last["disk_free_mb"], now["disk_free_mb"]
        return (old is None) != (new is None) or (
            old is not None and new is not None and abs(old - new) >= DISK_STEP_MB)

    def check(self) -> bool:
        """One probe (if idle); True when a change was reported."""
        if not self.idle():
            return False
        now = self.probe()
        if not self._news(now):
            return False
        self.last = now
        self.send(**now)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # health reporting must never stop the kiosk
                log.exception("health probe failed")
            self._stop.wait(self.every)

    def start(self) -> HealthReporter:
        self._thread = threading.Thread(target=self._run, name="kiosk-health", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
