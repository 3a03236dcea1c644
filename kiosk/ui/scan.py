"""The 2D scanner read in the background: its blocking `read(timeout)` runs on a thread
of its own, never on the UI thread; each code is handed over by `deliver` (the app hops
to the UI thread with Kivy's Clock, where the controller takes it on the welcome and
check-in screens only). What was scanned is never logged: a booking code is a key."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

READ_S = 0.25   # each read's timeout: how soon a stop is noticed


class ScanWatch:
    def __init__(self, scanner: Any, deliver: Callable[[str], None]) -> None:
        self.scanner = scanner
        self.deliver = deliver
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-scanner", daemon=True)

    def start(self) -> ScanWatch:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                text = self.scanner.read(READ_S)
            except Exception:  # a scanner unplugged: say so, try again shortly
                log.warning("reading the 2D scanner failed", exc_info=True)
                self._stop.wait(1.0)
                continue
            if text and not self._stop.is_set():
                self.deliver(text)
