"""The kiosk's screen: Kivy's window, or a clear account of why the app cannot draw.

A kiosk whose app cannot draw shows residents a black panel while systemd restarts the
app every few seconds. So the failure is said where a maintainer looks: a CRITICAL log
line (the journal; the image's journald forwards critical lines to the serial console),
the unit's status line and `health.json` (`display`), which outlive the restart loop.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXIT_NO_DISPLAY = 3  # the exit status of an app that cannot draw (docs/image.md)


class DisplayError(RuntimeError):
    """The window could not be opened or cannot draw (no driver, no GL, GL too old)."""


class _KivyErrors(logging.Handler):
    """Keeps what Kivy says at ERROR and above while it picks a window provider."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _gl_too_old(major: int, minor: int, version: str, vendor: str, renderer: str) -> None:
    raise DisplayError(f"OpenGL {major}.{minor} ({renderer}, {vendor}); the app needs 2.0")


def _one_line(messages: list[str]) -> str:
    """The provider errors of Kivy's critical message, without their tracebacks."""
    lines = [line.strip() for text in messages for line in text.splitlines()]
    why = [line for line in lines if line and not line.startswith(("File ", "Traceback"))
           and " - " in line]
    return "; ".join(why or lines[:1])[:400]


def open_window() -> Any:
    """Kivy's window (created on first import), or DisplayError saying why there is none."""
    # Kivy's own check of the GL version only logs on Linux and then goes on drawing
    # nothing; this hook makes it fail the window instead.
    sys._kivy_opengl_required_func = _gl_too_old  # type: ignore[attr-defined]
    errors = _KivyErrors()
    kivy_log = logging.getLogger("kivy")
    kivy_log.addHandler(errors)
    try:
        from kivy.core.window import Window
    finally:
        kivy_log.removeHandler(errors)
    if Window is None:
        driver = os.environ.get("SDL_VIDEODRIVER", "(SDL's choice)")
        raise DisplayError(f"no window on video driver {driver}: "
                           + (_one_line(errors.messages) or "no window provider"))
    return Window


def describe(window: Any) -> dict[str, Any]:
    """What draws the screen, for the log and health.json."""
    from kivy.graphics.opengl import GL_RENDERER, GL_VERSION, glGetString
    return {"ok": True, "size": list(window.size),
            "video_driver": os.environ.get("SDL_VIDEODRIVER", ""),
            "gl_renderer": glGetString(GL_RENDERER).decode(errors="replace"),
            "gl_version": glGetString(GL_VERSION).decode(errors="replace")}


def report(display: dict[str, Any], *, wait: bool = False) -> None:
    """Put the display's state into health.json (the device's health as a whole)."""
    from kiosk.service import DATA_DIR, collect_health, write_health

    def write() -> None:
        data_dir = Path(DATA_DIR)
        if not (data_dir.is_dir() and os.access(data_dir, os.W_OK)):
            return
        try:
            health = collect_health(data_dir, standin=False)
            health["display"] = display
            write_health(data_dir / "health.json", health)
        except Exception:  # the report must never be what stops the kiosk
            log.warning("health.json not written", exc_info=True)

    if wait:
        write()
    else:  # from the UI thread: pcscd's answer must not hold a frame
        threading.Thread(target=write, name="kiosk-health", daemon=True).start()


def fail(problem: str) -> int:
    """Say that the app cannot draw, everywhere a maintainer looks; the exit status."""
    from kiosk import watchdog
    log.critical("display: the kiosk app cannot draw on this machine's screen: %s", problem)
    watchdog.status(f"cannot draw: {problem}")
    report({"ok": False, "problem": problem}, wait=True)
    return EXIT_NO_DISPLAY
