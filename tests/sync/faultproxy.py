"""A TCP proxy for fault tests: sits between the kiosk and the back-office and can

- ``pass``:      forward bytes both ways;
- ``drop``:      reset every connection as soon as the back-office starts to answer
                 (the request arrived and was processed, the kiosk never hears back:
                 the classic duplicate-delivery trap), and reset new connections at once;
- ``stall``:     hold all bytes in both directions without closing; they are released
                 when the mode goes back to ``pass`` (late, out-of-order deliveries);
- ``blackhole``: swallow all bytes forever, answer nothing, close nothing.

Listens on a free port of 127.0.0.1; one thread per direction per connection.
"""

from __future__ import annotations

import socket
import struct
import threading
import time


class FaultProxy:
    MODES = ("pass", "drop", "stall", "blackhole")

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._mode = "pass"
        self._cond = threading.Condition()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._conns: set[socket.socket] = set()
        self._closed = False
        self.stats = {"accepted": 0, "dropped": 0}
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name="faultproxy")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(mode)
        with self._cond:
            self._mode = mode
            self._cond.notify_all()
        if mode == "drop":
            for s in list(self._conns):
                self._reset(s)

    def retarget(self, host: str, port: int) -> None:
        """Point new connections elsewhere (a restarted back-office on a new port)."""
        self.target = (host, port)

    def close(self) -> None:
        self._closed = True
        with self._cond:
            self._cond.notify_all()
        self._listener.close()
        for s in list(self._conns):
            self._reset(s)

    # -- internals -------------------------------------------------------------------
    def _reset(self, s: socket.socket) -> None:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass
        self._conns.discard(s)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.stats["accepted"] += 1
            if self._mode == "drop":
                self.stats["dropped"] += 1
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
                upstream.settimeout(None)
            except OSError:
                self._reset(client)   # back-office down: the kiosk sees a refused/reset
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._conns.add(s)
            threading.Thread(target=self._pump, args=(client, upstream, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, is_answer: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._cond:
                    while self._mode == "stall" and not self._closed:
                        self._cond.wait(0.5)
                    mode = self._mode
                if self._closed:
                    break
                if mode == "blackhole":
                    continue
                if mode == "drop" and is_answer:
                    self.stats["dropped"] += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._reset(src)
            self._reset(dst)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
