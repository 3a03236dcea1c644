"""systemd notifications (sd_notify) for the kiosk service, with no extra dependency.

The kiosk unit is `Type=notify` with `WatchdogSec=`: systemd starts counting the app as
running when it says READY, and kills and restarts it when the WATCHDOG pings stop. Feed
the watchdog from the UI's own main loop (a Kivy Clock event), never from a helper thread,
so a hung screen really stops the pings:

    from kiosk import watchdog
    watchdog.ready("ready: ward kita, kiosk kita-01")      # after the first frame is drawn
    Clock.schedule_interval(lambda dt: watchdog.ping(), watchdog.ping_interval() or 5)
    watchdog.status("offline: 3 tickets waiting to upload")  # any time; shown by systemctl
    watchdog.stopping()                                     # on a clean shutdown

Outside systemd ($NOTIFY_SOCKET unset: a workstation, the tests, `--demo`) every call is a
no-op returning False.
"""

from __future__ import annotations

import os
import socket

__all__ = ["enabled", "notify", "ping", "ping_interval", "ready", "status", "stopping"]


def _address() -> str | None:
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return None
    if address.startswith("@"):  # abstract namespace socket
        return "\0" + address[1:]
    return address


def enabled() -> bool:
    """True when running under systemd with a notification socket."""
    return _address() is not None


def notify(*assignments: str) -> bool:
    """Send `KEY=value` lines to systemd. False when not under systemd or on error."""
    address = _address()
    if address is None or not assignments:
        return False
    message = "\n".join(assignments).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message)
    except OSError:
        return False
    return True


def _one_line(text: str) -> str:
    return " ".join(text.split())


def ready(status_text: str = "") -> bool:
    """The app is up and serving residents (start-up is over)."""
    return notify("READY=1", *([f"STATUS={_one_line(status_text)}"] if status_text else []))


def ping() -> bool:
    """Keep-alive for WatchdogSec=: call at least every ping_interval() seconds."""
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    """A one-line status for `systemctl status kiosk` (no personal data in it)."""
    return notify(f"STATUS={_one_line(text)}")


def stopping() -> bool:
    return notify("STOPPING=1")


def ping_interval() -> float | None:
    """Seconds between pings: half the watchdog timeout, or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000
