"""`python -m kiosk`: the resident kiosk app.

    python -m kiosk                         the kiosk, devices per config/kiosk.toml
    python -m kiosk --hash-pin              make a maintainer_pin_hash (reads the PIN)
    options: --config FILE, --window (not fullscreen)

The demo and the scripted visits are dev tools: `python -m devtools --help`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
from typing import Any

from kiosk.ui.ports import KioskDevices
from kiosk.ui.settings import UiConfig

log = logging.getLogger(__name__)


def configure_kivy(cfg: UiConfig, *, headless: bool = False, window: bool = False) -> None:
    """Set Kivy's window from [ui] before any Kivy window module is imported."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # Kivy's logger ('kivy') only propagates to ours (logsetup: redaction filter, stderr):
    # no console or file handler of its own, no stderr capture.
    os.environ["KIVY_LOG_MODE"] = "PYTHON"
    os.environ["KIVY_NO_CONSOLELOG"] = "1"
    os.environ["KIVY_NO_FILELOG"] = "1"
    if headless:
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    if "KIVY_HOME" not in os.environ:
        os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")
    from kivy.config import Config
    fullscreen = cfg.fullscreen and not (headless or window)
    Config.set("graphics", "width", str(cfg.width))
    Config.set("graphics", "height", str(cfg.height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "1" if cfg.show_cursor or window else "0")
    Config.set("graphics", "rotation", str(cfg.rotation))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    # Off by default: the kiosk draws upright rectangles, text and pictograms, which gain
    # little from it, and on software GL (Mesa llvmpipe) 4x MSAA doubles a frame. A panel
    # with a real GPU may turn it on for smoother rounded outlines ([ui] multisamples).
    Config.set("graphics", "multisamples", str(cfg.multisamples))
    if headless:
        Config.set("graphics", "maxfps", "0")  # frames are pumped by hand
    Config.set("kivy", "exit_on_escape", "0")      # lockdown: only the maintainer PIN exits
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    if cfg.calibration:
        if not Config.has_section("postproc:calibration"):
            Config.add_section("postproc:calibration")
        for device, value in cfg.calibration.items():
            Config.set("postproc:calibration", device, value)


def _life_events(catalog: Any) -> Any:
    """The life events, checked against the catalog the kiosk runs with (maybe the
    back-office's): one that does not fit leaves the single procedures working."""
    from kiosk.configfile import load_life_events
    from kiosk.domain.errors import ConfigError
    try:
        return load_life_events(catalog=catalog)
    except ConfigError as exc:
        log.error("life events off: %s", exc)
        return None


def follow_catalog(link: Any, session: Any) -> None:
    """A newer catalog the link pulled (the back-office's new version, at the next sync)
    goes to the session on the UI thread; a visit under way keeps its own until it ends."""
    from kivy.clock import Clock

    def pulled(what: str) -> None:
        if what == "catalog":
            catalog = link.catalog()
            life_events = _life_events(catalog)
            Clock.schedule_once(lambda _dt: session.offer_catalog(catalog, life_events))

    link.subscribe(pulled)


def build_app(cfg: UiConfig, devices: KioskDevices | None = None) -> Any:
    """The app with its controller and devices (by default as config/kiosk.toml names them)."""
    from kiosk.configfile import load_catalog
    from kiosk.domain.session import Session
    from kiosk.ui.adapters import make_devices
    from kiosk.ui.controller import Controller
    from kiosk.ui.kioskapp import KioskApp, thread_runner

    devices = devices or make_devices(cfg)
    catalog = devices.catalog or load_catalog()
    session = Session(catalog, cfg.ward, cfg.session, time.monotonic(),
                      _life_events(catalog))
    if devices.payment is not None and hasattr(devices.payment, "methods"):
        # The payment screen offers what the payment port can start (one choice).
        session.settings = dataclasses.replace(session.settings, cashless_methods=tuple(
            str(getattr(m, "value", m)) for m in devices.payment.methods))
    session.voice = cfg.voice
    controller = Controller(session, devices.reader, devices.desk, devices.printer,
                            time.monotonic, devices.runner or thread_runner)
    log.info("devices: card reader %s, printer %s, ticket desk %s%s",
             type(devices.reader).__name__, type(devices.printer).__name__,
             type(devices.desk).__name__, ", cashless payment" if devices.payment else "")
    if devices.link is not None:
        follow_catalog(devices.link, session)
    if devices.health is not None:   # probe the devices only between visits
        devices.health.idle = session.idle
    if devices.updates is not None:  # install and reboot only between visits
        devices.updates.idle = session.idle
    app = KioskApp(cfg, controller)
    app.maintainer.on_attempt = devices.report_maintainer   # → the back-office
    app.devices = devices
    app.payment = devices.payment
    app.on_exit = devices.close
    app.guidance.voice = devices.voice or app.guidance.voice   # [voice]; None: silent
    app.keypad = devices.keypad                                 # [keypad]; None: none
    app.use_scanner(devices.scanner)                            # [scanner]; None: typed
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="FILE")
    parser.add_argument("--window", action="store_true")
    parser.add_argument("--hash-pin", action="store_true")
    args = parser.parse_args(argv)
    from kiosk.logsetup import configure
    configure("INFO")   # before Kivy is imported: its records go through the filter too
    if args.hash_pin:
        import getpass

        from kiosk.ui.maintainer_gate import hash_pin, new_pin_problem
        pin = getpass.getpass("maintainer PIN: ") if sys.stdin.isatty() else sys.stdin.readline()
        problem = new_pin_problem(pin.strip())
        if problem:
            print(f"kiosk: a maintainer PIN must be {problem}", file=sys.stderr)
            return 2
        print(hash_pin(pin.strip()))
        return 0
    from kiosk.domain.errors import ConfigError
    try:
        cfg = UiConfig.load(args.config)
    except ConfigError as exc:
        # an error record (journal priority err): the image's app-exited.sh shows it
        log.error("the kiosk cannot start: %s", exc)
        return 2
    from kiosk.service import image_version
    log.info("kiosk app %s starting: ward %s, config %s", image_version(), cfg.ward,
             cfg.file or "(defaults)")
    configure_kivy(cfg, window=args.window)
    from kiosk.ui import display
    try:
        display.open_window()
    except display.DisplayError as exc:
        return display.fail(str(exc))
    try:
        app = build_app(cfg)
    except ConfigError as exc:  # e.g. no device token provisioned yet: say which file
        log.error("the kiosk cannot start: %s", exc)
        return 2
    app.run()
    return 0
