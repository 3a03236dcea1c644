"""The stand-in receipt printer: a TCP "network printer" (port 9100 by default).

It serves one connection at a time, like a real one, interprets the ESC/POS stream
(`hardware.printer.stream`), answers DLE EOT n and GS r n, records every job and, when
given a directory, writes ``job-NNNN.bin`` (bytes received), ``job-NNNN.png`` (the paper
as printed) and ``job-NNNN.json`` (text, QR codes, whether it was cut or interrupted).

Faults a maintainer or a test can cause, as on the real device:
``run_out_of_paper(after_rows=…)`` (0 = now; otherwise part-way through what follows),
``paper_near_end()``, ``open_cover()``, ``drop_connection(after_bytes=…)``,
``jam_cutter()``, ``freeze()`` (accepts, never answers) and ``power_off()``
(connections refused) — each with its way back.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
import tty
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hardware.printer.stream import Interpreter, Job, Mechanism, PaperState

if TYPE_CHECKING:
    from kiosk.printing.config import Connection, PrinterConfig

log = logging.getLogger(__name__)

# Status bytes (Epson ESC/POS): bits 1 and 4 are always set.
_BASE = 0x12


class StandInPrinter(Mechanism):
    def __init__(self, host: str = "127.0.0.1", port: int = 9100, *,
                 output_dir: str | Path | None = None, width_px: int = 576) -> None:
        self.host = host
        self.port = port
        self.width = width_px
        self.output_dir = Path(output_dir) if output_dir else None
        self.jobs: list[Job] = []
        self.paper = PaperState.OK
        self.cover_open = False
        self._rows_left: int | None = None       # paper left before it runs out
        self._drop_after: int | None = None      # bytes until the connection is dropped
        self.frozen = False
        self.cutter_jammed = False
        self._lock = threading.Condition()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._client: socket.socket | None = None
        self._stopping = False
        self._pty: tuple[int, int] | None = None
        self.held = bytearray()                  # received while offline, not printed
        self.buffer_clears = 0
        self._resuming = False
        self._pty_thread: threading.Thread | None = None
        self.connections = 0
        self._first = 0                          # jobs numbered from _first + 1

    # ------------------------------------------------------------ life cycle
    def start(self) -> StandInPrinter:
        if self.output_dir:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            # continue the numbering of an earlier run rather than overwrite its jobs
            numbers = [int(p.stem[4:]) for p in self.output_dir.glob("job-*.json")
                       if p.stem[4:].isdigit()]
            self._first = max(numbers, default=0) - len(self.jobs)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(4)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]    # port 0 asks for a free one
        self._listener = listener
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name=f"stand-in printer :{self.port}",
                                        daemon=True)
        self._thread.start()
        log.info("stand-in printer listening on %s:%d", self.host, self.port)
        return self

    def serve_serial(self) -> str:
        """Also be a serial printer: returns the pseudo-terminal to open (/dev/pts/N).

        For python-escpos' Serial transport. A serial line has no connection to drop:
        a job ends at its cut."""
        master, slave = os.openpty()
        tty.setraw(slave)
        self._pty = (master, slave)   # the slave stays open here: a client may come and go
        self._stopping = False
        self._pty_thread = threading.Thread(target=self._serve_pty, args=(master,),
                                            name="stand-in printer (serial)", daemon=True)
        self._pty_thread.start()
        return os.ttyname(slave)

    def stop(self) -> None:
        self._stopping = True
        for thread in (self._thread, self._pty_thread):
            if thread is not None:
                thread.join(timeout=5)
        self._thread = self._pty_thread = None
        if self._pty is not None:
            for fd in self._pty:
                os.close(fd)
            self._pty = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> StandInPrinter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ faults
    def run_out_of_paper(self, after_rows: int = 0) -> None:
        """The roll ends now (0) or after `after_rows` more dot rows (8 rows = 1 mm)."""
        with self._lock:
            if after_rows <= 0:
                self.paper, self._rows_left = PaperState.OUT, None
            else:
                self._rows_left = after_rows

    def paper_near_end(self) -> None:
        with self._lock:
            self.paper = PaperState.NEAR_END

    def load_paper(self) -> None:
        """A new roll: like a real printer, it then prints what it held (unless cleared)."""
        with self._lock:
            self.paper, self._rows_left = PaperState.OK, None
        self._resume()

    def open_cover(self) -> None:
        with self._lock:
            self.cover_open = True

    def close_cover(self) -> None:
        with self._lock:
            self.cover_open = False
        self._resume()

    def _resume(self) -> None:
        with self._lock:
            if not self.held or not self.printing_possible():
                return
            data, self.held = bytes(self.held), bytearray()
            self._resuming = True
        try:
            interp = Interpreter(self, self.width)
            interp.feed(data)       # answers to GS r in there have no one to go to
            interp.end("interrupted_again" if not self.printing_possible() else None)
        finally:
            self._resuming = False

    def drop_connection(self, after_bytes: int = 0) -> None:
        """Close the current (or next) connection after `after_bytes` more bytes."""
        with self._lock:
            self._drop_after = after_bytes

    def jam_cutter(self, jammed: bool = True) -> None:
        """An autocutter error: the printer stops and reports an error (DLE EOT 2/3)."""
        with self._lock:
            self.cutter_jammed = jammed
        if not jammed:
            self._resume()

    def freeze(self, frozen: bool = True) -> None:
        """A hung printer: it accepts connections and bytes but never answers or prints."""
        with self._lock:
            self.frozen = frozen

    def power_off(self) -> None:
        """Stop listening: connections are refused until `power_on()`."""
        self.stop()

    def power_on(self) -> None:
        self.start()

    # ------------------------------------------------------------ recorded jobs
    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[Job]:
        """Block until `count` jobs are recorded (finished), then return them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.jobs) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.jobs)} job(s) recorded, expected {count}")
                self._lock.wait(left)
            return list(self.jobs)

    @property
    def last_job(self) -> Job:
        with self._lock:
            return self.jobs[-1]

    # ------------------------------------------------------------ Mechanism
    def printing_possible(self) -> bool:
        return not (self.cover_open or self.cutter_jammed or self.paper is PaperState.OUT)

    def consume_rows(self, rows: int) -> int:
        with self._lock:
            if self.paper is PaperState.OUT:
                return 0
            if self._rows_left is None:
                return rows
            printed = min(rows, self._rows_left)
            self._rows_left -= printed
            if self._rows_left <= 0:
                self.paper, self._rows_left = PaperState.OUT, None
            return printed

    def realtime_status(self, n: int) -> bytes:
        """DLE EOT n: 1 printer, 2 offline cause, 3 error cause, 4 roll paper sensor."""
        with self._lock:
            out = self.paper is PaperState.OUT
            near = self.paper is not PaperState.OK
            jam = self.cutter_jammed
            if n == 1:
                return bytes([_BASE | (0x08 if self.cover_open or out or jam else 0)])
            if n == 2:
                return bytes([_BASE | (0x04 if self.cover_open else 0) | (0x20 if out else 0)
                              | (0x40 if jam else 0)])
            if n == 3:
                return bytes([_BASE | (0x08 if jam else 0)])
            if n == 4:
                return bytes([_BASE | (0x0C if near else 0) | (0x60 if out else 0)])
            return b""

    def transmit_status(self, n: int) -> bytes:
        """GS r n: answered in order, i.e. only once what came before has printed."""
        if n in (1, 49):
            with self._lock:
                near = self.paper is not PaperState.OK
                return bytes([(0x03 if near else 0) | (0x0C if self.paper is PaperState.OUT
                                                        else 0)])
        return b"\x00"

    def new_job(self) -> Job:
        with self._lock:
            return Job(number=len(self.jobs) + 1, resumed=self._resuming)

    def hold(self, data: bytes) -> None:
        with self._lock:
            self.held += data

    def clear_buffer(self) -> None:
        with self._lock:
            self.held.clear()
            self.buffer_clears += 1

    def finish(self, job: Job) -> None:
        job.finished = job.finished or datetime.now()
        with self._lock:
            job.number = self._first + len(self.jobs) + 1
        if self.output_dir is not None:
            try:
                job.save(self.output_dir, self.width)
            except OSError:
                log.exception("stand-in printer: could not save job %d", job.number)
        with self._lock:
            self.jobs.append(job)
            self._lock.notify_all()
        log.info("stand-in printer: job %d %s", job.number,
                 "complete" if job.complete else f"interrupted ({job.interrupted})")

    # ------------------------------------------------------------ serving
    def _serve(self) -> None:
        assert self._listener is not None
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            self.connections += 1
            with client:
                self._handle(client)

    def _serve_pty(self, master: int) -> None:
        interp = Interpreter(self, self.width)
        while not self._stopping:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                time.sleep(0.05)
                continue
            reply = interp.feed(data)
            if reply:
                os.write(master, reply)
        interp.end("stopped")

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(0.1)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        interp = Interpreter(self, self.width)
        reason: str | None = None
        while not self._stopping:
            try:
                data = client.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                reason = "connection_reset"
                break
            if not data:
                break
            if self.frozen:
                continue
            with self._lock:
                drop_after = self._drop_after
                if drop_after is not None:
                    if len(data) >= drop_after:
                        data = data[:drop_after]
                        self._drop_after = None
                    else:
                        self._drop_after = drop_after - len(data)
            reply = interp.feed(data) if data else b""
            if drop_after is not None and self._drop_after is None:
                reason = "connection_dropped"
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  b"\x01\x00\x00\x00\x00\x00\x00\x00")   # RST, like a pulled cable
                break
            if reply:
                try:
                    client.sendall(reply)
                except OSError:
                    reason = "connection_reset"
                    break
        if reason is None and not self.printing_possible():
            reason = ("cover_open" if self.cover_open else
                      "cutter_jam" if self.cutter_jammed else "paper_out")
        interp.end(reason or ("stopped" if self._stopping else None))


def connect_standin(config: PrinterConfig) -> Connection:
    """`[printer] transport = "standin"` (entry point `printer.standin`): start the stand-in
    on host:port inside the kiosk and print to it over TCP, as to a network printer."""
    from kiosk.printing.config import connect_network

    standin = StandInPrinter(config.host, config.port, width_px=config.model.width_px,
                             output_dir=config.standin_output_dir)
    try:
        standin.start()
    except OSError as exc:
        # e.g. a maintainer's `python -m hardware.printer` already listens there
        log.warning("stand-in printer not started (%s); printing to %s:%d as it is",
                    exc, config.host, config.port)
        return connect_network(config)
    log.info("printing to the stand-in printer; jobs in %s", config.standin_output_dir)
    connect, _ = connect_network(replace(config, host=standin.host, port=standin.port))
    return connect, standin.stop
