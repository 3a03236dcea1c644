"""Drives the real app without a main loop: frames are pumped by hand, touches go
through Kivy's input path (UnitTestTouch → Window → widgets), screenshots are read from
the GL framebuffer. Used by the headless walkthrough, the UI tests and the benchmark."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kivy.base import EventLoop, runTouchApp
from kivy.tests.common import UnitTestTouch
from kivy.uix.modalview import ModalView
from kivy.uix.widget import Widget

from kiosk.ui.widgets import KeyGrid


class Harness:
    def __init__(self, app: Any) -> None:
        self.app = app

    def start(self) -> Harness:
        self.app._run_prepare()
        runTouchApp(embedded=True)
        self.pump(3)
        return self

    def stop(self) -> None:
        self.app._stop()

    @property
    def window(self) -> Any:
        return EventLoop.window

    def pump(self, frames: int = 1) -> None:
        for _ in range(frames):
            EventLoop.idle()

    def settle(self, timeout: float = 10.0) -> None:
        """Frames until the worker is done and its result has been shown, and no modal
        view is fading in or out (one that fades out still takes touches: with fast
        frames a next tap would land on it)."""
        end = time.monotonic() + timeout
        self.pump(2)  # the change, then the layout of what it built
        while (self.app.controller.busy or self._modal_fading()) and time.monotonic() < end:
            time.sleep(0.005)
            self.pump()
        self.pump(2)

    def _modal_fading(self) -> bool:
        return any(isinstance(child, ModalView) and child._anim_alpha < 1
                   for child in self.window.children)

    # --- finding and touching ----------------------------------------------------------
    def widgets(self) -> Iterator[Widget]:
        """Everything touchable now: modal views first, then the current screen + chrome."""
        for child in self.window.children:
            if child is not self.app.root:
                yield from child.walk()
        root = self.app.root
        sm = root.ids.sm
        yield from sm.current_screen.walk()
        for part in (root.ids.header, root.ids.footer):
            yield from part.walk()

    def find(self, *action: Any) -> Any:
        for w in self.widgets():
            got = getattr(w, "action", None)   # a button's: [name, *args] (a key pad's: a name)
            if isinstance(got, list) and got[:len(action)] == list(action) and not w.disabled:
                return w
        raise LookupError(f"no enabled widget with action {action!r} on "
                          f"{self.app.controller.session.step}")

    def tap_at(self, x: float, y: float) -> None:
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump()  # input is queued until the next frame; down and up need one each
        touch.touch_up()
        self.settle()

    def tap(self, *action: Any) -> None:
        w = self.find(*action)
        x, y = w.to_window(*w.center)
        self.tap_at(x, y)

    def keys(self, text: str) -> None:
        """Tap the on-screen key of each character on the key pad shown (PIN pad, kana
        keyboard, number pad): each key does its pad's action (`pin_press`, ...)."""
        pad = next(w for w in self.widgets()
                   if isinstance(w, KeyGrid) and w.keys and not w.disabled)
        for ch in text:
            self.tap(pad.action, ch)

    # --- pixels ------------------------------------------------------------------------
    def pixels(self) -> Any:
        """The framebuffer as a PIL image (what the resident sees)."""
        from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
        from PIL import Image
        self.pump()
        w, h = self.window.size
        data = glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE)
        return Image.frombytes("RGBA", (w, h), data).transpose(
            Image.Transpose.FLIP_TOP_BOTTOM).convert("RGB")

    def screenshot(self, path: Path, scale: float = 1.0, colors: int = 0) -> Path:
        """Save what is on screen; `scale` and a palette of `colors` keep docs small."""
        from PIL import Image
        img = self.pixels()
        if scale != 1.0:
            img = img.resize((int(img.width * scale), int(img.height * scale)),
                             Image.Resampling.LANCZOS)
        if colors:
            img = img.quantize(colors=colors)
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, optimize=True)
        return path
