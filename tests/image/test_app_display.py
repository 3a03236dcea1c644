"""The kiosk app on the image when it cannot draw: `python -m kiosk` as the unit runs it
(journal on stderr), on a screen SDL cannot open. It must say so at critical priority,
put it into health.json and the unit's status, and exit with the no-display status, which
the unit's ExecStopPost puts on the serial console at every try of the restart loop."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.logsetup import JOURNAL_FORMAT, JournalFormatter
from kiosk.ui import display

REPO = Path(__file__).resolve().parents[2]


def run_app(tmp_path: Path, video_driver: str) -> tuple[subprocess.CompletedProcess[str], str]:
    notify = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(0.1)
    journal = tmp_path / "journal"   # stands for the journal's stream systemd connects
    with journal.open("w") as err:
        st = os.fstat(err.fileno())
        env = {**os.environ, "SDL_VIDEODRIVER": video_driver, "KIOSK_DATA_DIR": str(tmp_path),
               "KIVY_HOME": str(tmp_path / "kivy"), "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}",
               "NOTIFY_SOCKET": str(notify)}
        env.pop("KIVY_NO_CONSOLELOG", None)
        env.update(KIVY_LOG_MODE="PYTHON", KIVY_WINDOW="sdl2")  # as /etc/kiosk/app.env does
        done = subprocess.run([sys.executable, "-m", "kiosk"], cwd=REPO, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=err, timeout=120)
    done.stderr = journal.read_text()
    messages = []
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except TimeoutError:
        pass
    finally:
        sock.close()
    return done, "\n".join(messages)


def test_no_screen_is_said_critically_kept_in_health_and_exits_3(tmp_path: Path) -> None:
    done, notified = run_app(tmp_path, "no-such-video-driver")
    assert done.returncode == display.EXIT_NO_DISPLAY, done.stderr[-2000:]
    said = [line for line in done.stderr.splitlines()
            if "cannot draw on this machine's screen" in line]
    assert len(said) == 1, done.stderr[-2000:]
    assert said[0].startswith("<2>CRITICAL kiosk.ui.display: ")
    assert "no-such-video-driver not available" in said[0]
    # The start-up line came first, at info priority.
    assert any(line.startswith("<6>") and "kiosk app" in line and "starting" in line
               for line in done.stderr.splitlines())
    health = json.loads((tmp_path / "health.json").read_text())
    assert health["display"]["ok"] is False
    assert "no-such-video-driver" in health["display"]["problem"]
    assert health["mode"] == "app"
    assert "STATUS=cannot draw: " in notified


def test_journal_formatter_prefixes_every_line_with_its_priority() -> None:
    fmt = JournalFormatter(JOURNAL_FORMAT)
    record = logging.LogRecord("kiosk", logging.CRITICAL, "", 0, "one\ntwo", None, None)
    assert fmt.format(record) == "<2>CRITICAL kiosk: one\n<2>two"
    record = logging.LogRecord("kiosk", logging.INFO, "", 0, "ok", None, None)
    assert fmt.format(record) == "<6>INFO kiosk: ok"


def test_gl_below_2_fails_the_window_instead_of_drawing_nothing() -> None:
    # Kivy calls this hook (when set) instead of only logging an old GL on Linux.
    with pytest.raises(display.DisplayError, match=r"OpenGL 1\.4 .*needs 2\.0"):
        display._gl_too_old(1, 4, "1.4 Mesa", "Mesa", "softpipe")
