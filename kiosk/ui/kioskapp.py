"""The Kivy app: renders the session's step on its screen, forwards touches to the
controller. Import only after `kiosk.ui.app.configure_kivy()` has set the window up."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.properties import (
    BooleanProperty,
    DictProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk import watchdog
from kiosk.configfile import ASSETS_DIR
from kiosk.domain.session import Step
from kiosk.i18n import translator
from kiosk.ui import sound, theme
from kiosk.ui.controller import Controller
from kiosk.ui.guidance import Guidance
from kiosk.ui.keys import POLL_S, KeypadInput
from kiosk.ui.maintainer_gate import MaintainerGate
from kiosk.ui.screens import SCREENS
from kiosk.ui.settings import UiConfig
from kiosk.ui.steps import progress_of

log = logging.getLogger(__name__)

FONTS = {
    "BIZUD": (ASSETS_DIR / "fonts" / "BIZUDGothic-Regular.ttf",
              ASSETS_DIR / "fonts" / "BIZUDGothic-Bold.ttf"),
    # Hangul, simplified Chinese and Vietnamese are not in BIZ UD Gothic.
    "WQY": (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),) * 2,
}
LANGUAGE_FONT = {"zh-Hans": "WQY", "ko": "WQY", "vi": "WQY"}
NO_FOOTER = (Step.WELCOME, Step.READING, Step.ISSUING, Step.THANKS)
MAINTAINER_TAPS = 5
WATCHDOG_FALLBACK_S = 5.0  # $NOTIFY_SOCKET without $WATCHDOG_USEC: ping anyway


def register_fonts() -> None:
    for name, (regular, bold) in FONTS.items():
        if regular.exists():
            LabelBase.register(name, str(regular), fn_bold=str(bold))
        else:  # a missing fallback font must not stop the kiosk: Japanese still works
            log.warning("font %s missing (%s); using BIZ UD Gothic", name, regular)
            LabelBase.register(name, str(FONTS["BIZUD"][0]), fn_bold=str(FONTS["BIZUD"][1]))


def thread_runner(work: Callable[[], Any], then: Callable[[Any], None]) -> None:
    """Device and network calls run on a worker; their result comes back on the UI thread."""
    def run() -> None:
        result = work()
        Clock.schedule_once(lambda dt: then(result), 0)
    threading.Thread(target=run, name="kiosk-worker", daemon=True).start()


class KioskRoot(BoxLayout):
    def on_touch_down(self, touch: Any) -> bool:
        app = App.get_running_app()
        app.on_any_touch(touch)
        return bool(super().on_touch_down(touch))


class KioskScreens(ScreenManager):
    """The screens, one at a time, without a transition (kiosk.kv drops the clip)."""


class KioskApp(App):
    lang = StringProperty("ja")
    col = DictProperty({})
    fs = NumericProperty(30)
    target = NumericProperty(60)
    font = StringProperty("BIZUD")
    low_reach = BooleanProperty(False)
    high_contrast = BooleanProperty(False)
    large_text = BooleanProperty(False)
    voice = BooleanProperty(False)
    show_footer = BooleanProperty(False)
    can_back = BooleanProperty(False)
    title_text = StringProperty("")
    countdown_text = StringProperty("")

    def __init__(self, cfg: UiConfig, controller: Controller, **kwargs: Any) -> None:
        self.cfg = cfg
        self.controller = controller
        self.sound = sound.Player()
        self.guidance = Guidance(self.sound)   # build_app gives it the [voice] device
        self.keypad: Any = None                # and the [keypad] device (kiosk.ui.keys)
        self.scan: Any = None                  # the [scanner] read in the background
        self.keys = KeypadInput(self)
        self.keys.guide = self.guidance.keypad
        self.frames = 0
        self.first_frame_at: float | None = None
        self._shown: tuple[Step, str] | None = None
        self._taps: list[float] = []
        self.maintainer = MaintainerGate(cfg.maintainer_pin_hash, cfg.maintainer_lock_file)
        self.on_exit: Callable[[], None] | None = None
        super().__init__(**kwargs)
        self.target = cfg.target_px
        self._apply_modes()

    # --- building ----------------------------------------------------------------------
    kv_directory = str(Path(__file__).parent)

    def build(self) -> KioskRoot:
        self.title = "ward-kiosk"
        register_fonts()
        # kiosk.kv (beside this module's app class name) is loaded by App.load_kv itself.
        root = KioskRoot()
        root.ids.sm.transition = NoTransition()
        self.root = root
        self.fbind("col", self._paint_background)
        self._paint_background()
        self.screen(Step.WELCOME)  # the others are built after the first frame
        self.controller.listeners.append(self.refresh)
        Clock.schedule_interval(lambda dt: self._tick(), 0.25)
        Clock.schedule_interval(lambda dt: self.keys.poll(), POLL_S)
        from kivy.core.window import Window
        Window.bind(on_flip=self._on_flip)
        self.refresh()
        return root

    def _paint_background(self, *args: Any) -> None:
        # The window's clear colour, not a rectangle (kiosk.kv <KioskRoot>).
        from kivy.core.window import Window
        Window.clearcolor = self.col["bg"]

    def _on_flip(self, *args: Any) -> None:
        self.frames += 1
        if self.first_frame_at is None:
            self.first_frame_at = time.perf_counter()
            Clock.schedule_once(lambda dt: self._prebuild(), 0)
            from kivy.core.window import Window

            # SDL's KMS/DRM window remakes its GBM/EGL surface at the next swap after its
            # size or fullscreen state was set (Kivy sets both at start-up), so the first
            # frame reaches the panel blank: black. Kivy draws only on change, so a still
            # welcome screen would stay black until a touch. Draw once more.
            Clock.schedule_once(lambda dt: Window.canvas.ask_update(), 0)

            from kiosk.ui import display
            shown = display.describe(Window)
            log.info("display: first frame drawn, %dx%d, %s on %s", *shown["size"],
                     shown["gl_renderer"], shown["video_driver"] or "SDL's default driver")
            display.report(shown)
            # Type=notify: systemd counts the kiosk as started once residents can see it.
            if watchdog.ready(f"ready: ward {self.cfg.ward}"):
                # Fed from the UI thread's Clock: a hung screen stops the pings and
                # systemd (WatchdogSec=) restarts the kiosk.
                Clock.schedule_interval(lambda dt: watchdog.ping(),
                                        watchdog.ping_interval() or WATCHDOG_FALLBACK_S)

    def screen(self, step: Step) -> Any:
        """The screen of a step, built (kv and widgets) the first time it is needed."""
        sm = self.root.ids.sm
        if not sm.has_screen(step.value):
            cls = next(c for c in SCREENS if c.step is step)
            cls.load_kv()
            sm.add_widget(cls(name=step.value))
        return sm.get_screen(step.value)

    def _prebuild(self) -> None:
        """One screen per frame after start-up, so no screen change pays for a build."""
        missing = [c.step for c in SCREENS if not self.root.ids.sm.has_screen(c.step.value)]
        if missing:
            self.screen(missing[0])
            Clock.schedule_once(lambda dt: self._prebuild(), 0)

    # --- translation -------------------------------------------------------------------
    def tr(self, msgid: str, lang: str | None = None, **params: Any) -> str:
        return translator(lang or self.lang)(msgid, **params)

    # --- the one way the screens act -----------------------------------------------------
    def act(self, name: str, *args: Any) -> None:
        """A button's action: the language picker and 読み上げ are the screen's own; every
        other action is the resident's (the controller, kiosk.domain.actions)."""
        if name == "languages":
            self.open_languages()
        elif name == "read_aloud":
            self.read_aloud()
        else:
            self.controller.act(name, *args)

    def on_any_touch(self, touch: Any) -> None:
        self.controller.touch()
        corner = self.target * 1.5
        if touch.x < corner and touch.y > self.root.height - corner:
            now = time.monotonic()
            self._taps = [t for t in self._taps if now - t < 3.0] + [now]
            if len(self._taps) >= MAINTAINER_TAPS:
                self._taps = []
                from kiosk.ui.maintainer import open_exit_dialog
                open_exit_dialog(self)

    def read_aloud(self) -> None:
        """音声案内's "読み上げ": the whole screen, a form's fields included."""
        self.guidance.read_aloud(self, self.root.ids.sm.current_screen, self.controller.session)

    def open_languages(self) -> None:
        from kiosk.ui.languages import open_language_picker
        open_language_picker(self)

    # --- rendering ---------------------------------------------------------------------
    def _apply_modes(self) -> None:
        s = self.controller.session
        palette = theme.HIGH_CONTRAST if s.high_contrast else theme.DEFAULT
        if not self.col or self.high_contrast != s.high_contrast:
            self.col = {name: palette.rgba(name) for name in palette.__dataclass_fields__}
        self.high_contrast = s.high_contrast
        self.large_text = s.large_text
        self.voice = s.voice
        self.low_reach = s.low_reach
        self.fs = round(self.target * 0.52 * theme.TEXT_SCALE[s.large_text])
        self.font = LANGUAGE_FONT.get(s.language, "BIZUD")
        self.lang = s.language

    def refresh(self) -> None:
        s = self.controller.session
        self._apply_modes()
        step = s.step
        sm = self.root.ids.sm
        screen = self.screen(step)
        if step is Step.WELCOME and self._shown is not None and self._shown[0] is not step:
            for other in sm.screens:  # the visit is over: nothing of it stays on screen
                other.clear()
        screen.refresh(self, s)
        self.root.ids.steps.show(self, progress_of(s))
        if sm.current != step.value:
            sm.current = step.value
        self.show_footer = step not in NO_FOOTER
        self.can_back = step in (Step.CHECK_IN, Step.PROCEDURE, Step.EVENT, Step.QUESTION,
                                 Step.PLAN, Step.IDENTITY, Step.CARD, Step.PIN, Step.CODE_B,
                                 Step.ENTRY, Step.CONFIRM, Step.PAYMENT)
        self.title_text = self.tr(screen.title)
        self._update_countdown()
        self.guidance.shown(self, screen, s)
        self._shown = (step, s.language)

    def _update_countdown(self) -> None:
        n = self.controller.session.countdown(self.controller.clock())
        self.countdown_text = "" if n is None else self.tr(
            "あと{seconds}秒で最初の画面に戻ります", seconds=n)

    def _tick(self) -> None:
        self.controller.tick()
        self._update_countdown()

    def use_scanner(self, scanner: Any) -> None:
        """Read this 2D scanner (kiosk.scanner) on its own thread from now on (None: no
        scanner); its codes reach the controller on the UI thread."""
        from kiosk.ui.scan import ScanWatch
        if self.scan is not None:
            self.scan.stop()
            self.scan = None
        if scanner is not None:
            def deliver(text: str) -> None:
                Clock.schedule_once(lambda dt: self.controller.scanned(text), 0)
            self.scan = ScanWatch(scanner, deliver).start()

    def on_stop(self) -> None:
        watchdog.stopping()
        self.use_scanner(None)
        self.controller.end_visit()
        if self.on_exit is not None:
            self.on_exit()
