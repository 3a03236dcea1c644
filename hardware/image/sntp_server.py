"""A minimal SNTP server (RFC 4330) for the image boot test: the guest's timesyncd syncs to
it through qemu's user network (10.0.2.2 = the host), so time-sync.target is reached
and the kiosk app starts, as it would with the ward's NTP server. Standard library only.

    python3 hardware/image/sntp_server.py [--bind 127.0.0.1] [--port 123]
"""

from __future__ import annotations

import argparse
import socket
import struct
import time

NTP_EPOCH = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def ntp_time(t: float) -> bytes:
    seconds = int(t) + NTP_EPOCH
    return struct.pack("!II", seconds & 0xFFFFFFFF, int((t % 1) * 2**32))


def answer(request: bytes, received: float) -> bytes | None:
    """The server reply to one client request, or None for anything else."""
    if len(request) < 48 or request[0] & 0x07 != 3:  # mode 3 = client
        return None
    version = (request[0] >> 3) & 0x07
    header = struct.pack("!BBbb", (0 << 6) | (version << 3) | 4, 2, 4, -20)  # LI 0, stratum 2
    root = struct.pack("!II", 0x00000010, 0x00000010)  # root delay / dispersion ≈ 0.25 ms
    return (header + root + b"LOCL" + ntp_time(received - 1) + request[40:48]
            + ntp_time(received) + ntp_time(time.time()))


def serve(sock: socket.socket) -> None:
    while True:
        request, client = sock.recvfrom(512)
        reply = answer(request, time.time())
        if reply is not None:
            sock.sendto(reply, client)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=123)
    args = ap.parse_args()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((args.bind, args.port))
        print(f"sntp: serving on {args.bind}:{sock.getsockname()[1]}", flush=True)
        serve(sock)


if __name__ == "__main__":
    main()
