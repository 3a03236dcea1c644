"""The real printer adapter: python-escpos' own transports (Network, Usb, Serial).

Each call opens the transport, does its work and closes it again, so a printer that was
switched off and on, or a cable pulled and replugged, needs no kiosk restart.

Printing a ticket:
1. ask the printer (DLE EOT 1/2/4, real-time) and refuse early with a typed error;
2. send the job, then GS r 1 — which the printer answers only after everything before it
   has printed, so an answer means the ticket came out whole;
3. no answer within the job timeout: ask again why (paper ran out mid-job, cover opened,
   connection gone), clear the printer's buffer (DLE DC4 8) so the stale rest does not
   print later, and raise that, marked `mid_job`.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.printer import Network, Serial

from kiosk.printing.device import (
    PaperState,
    PrinterOfflineError,
    PrintError,
    PrinterStatus,
)
from kiosk.printing.render import PrinterModel, Slip, render_ticket

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
# DLE DC4 8 (Epson real-time "clear buffers"): after a ticket failed part-way, drop what
# the printer still holds, or it prints the stale rest for the next resident once the
# paper is changed or the cover closed.
CLEAR_BUFFERS = b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"
TRANSMIT_PAPER_STATUS = b"\x1dr\x01"   # GS r 1


def decode_status(printer: int, offline: int, paper: int) -> PrinterStatus:
    """Status bytes of DLE EOT 1, 2 and 4 (Epson ESC/POS bit layout)."""
    if paper & 0x60 == 0x60 or offline & 0x20:
        paper_state = PaperState.OUT
    elif paper & 0x0C == 0x0C:
        paper_state = PaperState.NEAR_END
    else:
        paper_state = PaperState.OK
    return PrinterStatus(online=not printer & 0x08, paper=paper_state,
                         cover_open=bool(offline & 0x04), error=bool(offline & 0x40))


class EscposPrinter:
    """A `Printer` over any python-escpos transport. `connect` builds a fresh one."""

    def __init__(self, connect: Callable[[], Escpos], model: PrinterModel, *,
                 status_timeout: float = 2.0, job_timeout: float = 10.0,
                 name: str = "printer", on_close: Callable[[], None] | None = None) -> None:
        self._connect = connect
        self.model = model
        self.status_timeout = status_timeout
        self.job_timeout = job_timeout
        self.name = name
        self._on_close = on_close

    # ------------------------------------------------------------ Printer
    def status(self) -> PrinterStatus:
        try:
            with self._session() as dev:
                return self._query(dev)
        except PrintError as exc:
            log.warning("%s: no status (%s)", self.name, exc)
            return PrinterStatus.offline()

    def can_print(self) -> bool:
        return self.status().can_print

    def print_ticket(self, slip: Slip) -> None:
        job = render_ticket(slip, self.model)
        with self._session() as dev:
            problem = self._query(dev).problem()
            if problem is not None:
                log.warning("%s: ticket %s not printed: %s", self.name, slip.number, problem)
                raise problem
            try:
                dev._raw(job + TRANSMIT_PAPER_STATUS)
                done = self._read(dev, self.job_timeout)
            except PrintError as exc:
                raise self._mid_job(exc, slip) from exc
            except OSError as exc:
                raise self._mid_job(PrinterOfflineError(f"connection lost: {exc}"),
                                    slip) from exc
            if done:
                if done[0] & 0x03 == 0x03:
                    log.warning("%s: paper near end — change the roll soon", self.name)
                log.info("%s: ticket %s printed", self.name, slip.number)
                return
            try:
                problem = self._query(dev).problem()
                if self.model.clear_buffer:
                    dev._raw(CLEAR_BUFFERS)
            except PrintError as exc:
                problem = exc
            except OSError:
                pass
            raise self._mid_job(problem or PrintError("the printer did not confirm the job"),
                                slip)

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()

    # ------------------------------------------------------------ internals
    def _mid_job(self, error: PrintError, slip: Slip) -> PrintError:
        log.error("%s: ticket %s failed while printing: %s", self.name, slip.number, error)
        return type(error)(error.detail or error.code, mid_job=True)

    @contextmanager
    def _session(self) -> Iterator[Escpos]:
        try:
            dev = self._connect()
            dev.open()
        except (EscposError, OSError) as exc:
            raise PrinterOfflineError(str(exc).strip()) from exc
        try:
            yield dev
        finally:
            try:
                dev.close()
            except (EscposError, OSError):
                pass

    def _ask(self, dev: Escpos, n: int) -> int:
        try:
            dev._raw(DLE_EOT + bytes([n]))
        except OSError as exc:
            raise PrinterOfflineError(f"connection lost: {exc}") from exc
        reply = self._read(dev, self.status_timeout)
        if not reply:
            raise PrinterOfflineError(f"no answer to DLE EOT {n}")
        return reply[-1]

    def _query(self, dev: Escpos) -> PrinterStatus:
        return decode_status(self._ask(dev, 1), self._ask(dev, 2), self._ask(dev, 4))

    @staticmethod
    def _read(dev: Escpos, timeout: float) -> bytes:
        """One reply, or b"" when none came within `timeout` seconds."""
        if isinstance(dev, Network):
            sock = dev.device
            assert isinstance(sock, socket.socket)
            sock.settimeout(timeout)
            try:
                data = sock.recv(16)
            except TimeoutError:
                return b""
            except OSError as exc:
                raise PrinterOfflineError(f"connection lost: {exc}") from exc
            if not data:
                raise PrinterOfflineError("the printer closed the connection")
            return data
        if isinstance(dev, Serial):
            # python-escpos reads 16 bytes and so always waits the whole timeout: read one
            # byte (within `timeout`), then whatever else has already arrived.
            port = dev.device
            port.timeout = timeout
            data = port.read(1)
            return bytes(data + port.read(port.in_waiting)) if data else b""
        deadline = time.monotonic() + timeout
        while True:                     # USB reads return nothing (or raise) on timeout
            try:
                data = dev._read()
            except (OSError, EscposError):
                data = b""
            if data:
                return bytes(data)
            if time.monotonic() >= deadline:
                return b""
            time.sleep(0.02)
