"""The real kiosk app under a systemd-like $NOTIFY_SOCKET: READY=1 once the first frame
is on screen, then WATCHDOG=1 from the UI thread's Clock (docs/image.md: Type=notify,
WatchdogSec=20). Runs the headless walkthrough as its own process, SDL offscreen."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_headless_app_says_ready_then_feeds_the_watchdog(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(0.5)
        env = dict(os.environ, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000",
                   KIVY_HOME=str(tmp_path / "kivy"), SDL_VIDEODRIVER="offscreen",
                   KIVY_NO_ARGS="1", PYTHONDONTWRITEBYTECODE="1")
        env.pop("WATCHDOG_PID", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "devtools", "--headless", "--walkthrough",
             str(tmp_path / "shots")], cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        messages: list[str] = []
        try:
            end = time.monotonic() + 120
            while time.monotonic() < end:
                try:
                    messages.append(sock.recv(4096).decode())
                except TimeoutError:
                    if proc.poll() is not None:
                        break
        finally:
            out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert messages, out
    assert messages[0] == "READY=1\nSTATUS=ready: ward kita"
    assert messages.count("READY=1\nSTATUS=ready: ward kita") == 1
    # pinged every 0.2 s (half of WATCHDOG_USEC) while the scripted visits ran
    assert messages.count("WATCHDOG=1") >= 5, messages
    assert set(messages[1:-1]) == {"WATCHDOG=1"}, messages
    assert messages[-1] == "STOPPING=1"
    assert len(list((tmp_path / "shots").glob("*.png"))) == 22   # 16 + the life event's 6

