"""The stand-in card as a TCP client of vsmartcard-vpcd (the virtual reader in pcscd).

Frames are a 2-byte big-endian length + payload; a 1-byte payload is control:
00 power off, 01 power on, 02 reset, 04 "send your ATR". Anything else is an APDU.
TCP_NODELAY and TCP_QUICKACK (re-armed after every recv: Linux clears it) keep an APDU
round trip near 0.1 ms instead of the ≈48 ms delayed-ACK stall.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from hardware.card.applet import MyNumberApplet
from hardware.card.profile import ATR

log = logging.getLogger(__name__)

POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


# Only for the benchmark, to show what the socket options are worth.
TUNED = os.environ.get("WARD_CARD_UNTUNED_TCP") != "1"


def _quickack(sock: socket.socket) -> None:
    if TUNED and hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        _quickack(sock)
        if not chunk:
            return None
        buf += chunk
    return buf


def connect(host: str, port: int, timeout: float = 10.0) -> socket.socket:
    """Connect to vpcd, retrying while pcscd starts up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=2.0)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(TUNED))
    _quickack(sock)
    return sock


def serve(applet: MyNumberApplet, sock: socket.socket) -> None:
    """Answer vpcd until it hangs up. `pull_after` makes the card vanish mid-session."""
    pull_after = applet.profile.pull_after
    while True:
        header = _recv_exact(sock, 2)
        if header is None:
            return
        payload = _recv_exact(sock, int.from_bytes(header, "big"))
        if payload is None:
            return
        if len(payload) == 1:
            code = payload[0]
            if code == GET_ATR:
                reply = ATR
            else:
                if code in (POWER_OFF, RESET):
                    applet.power_off()
                log.info("%s", {POWER_OFF: "POWER OFF", POWER_ON: "POWER ON",
                                RESET: "RESET"}.get(code, f"control {code}"))
                continue
        else:
            if pull_after and applet.received + 1 >= pull_after:
                log.info("card pulled (pull_after=%d)", pull_after)
                logging.shutdown()
                os._exit(0)  # like a card leaving the field: no answer, connection gone
            reply = applet.process(payload)
        sock.sendall(len(reply).to_bytes(2, "big") + reply)
        _quickack(sock)
