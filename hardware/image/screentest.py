"""The screen test of the kiosk image: the REAL app on a virtual screen, looked at and
touched from the host (run by `hardware/image/boot-test.sh --screen`).

    python screentest.py reference --size 1280x800 --out DIR
        renders the visit below with the app itself (Kivy offscreen, the same code and
        fonts as the image) and writes DIR/plan.json: per screen the reference PNG and
        the window coordinates of the widget tapped next.
    python screentest.py drive --qmp SOCK --serial LOG --plan DIR --out DIR
        follows the plan on the booted image: QMP `screendump` for each screen, which
        must match its reference (not black; the title, buttons and text where the app
        draws them), QMP `input-send-event` on the usb-tablet for each tap; then waits
        for the stand-in printer's ticket PNG (sent by the guest on the serial console).

Needs the repository's .venv (Kivy for `reference`, Pillow for both).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The visit: (screenshot name, the action of the widget tapped on that screen).
# Tapping a PIN key changes no screen, so the PIN's taps share one screenshot.
VISIT: list[tuple[str, list[list[str]]]] = [
    ("01-welcome", [["start"]]),
    ("02-procedure", [["choose_procedure", "juminhyo"]]),
    ("03-identity", [["choose_card"]]),
    ("04-pin", [["pin_press", "1"], ["pin_press", "2"], ["pin_press", "3"], ["pin_press", "4"],
                ["take_pin"]]),
    ("05-confirm", [["confirm"]]),
    # ("06-payment", [["choose_payment", "counter"]]) only where cashless is on
    ("07-ticket", []),
]
# A pixel "matches" when no channel differs by more than this (anti-aliasing of the
# same text on two Mesa software rasterisers differs by a few levels, not by 48).
CHANNEL_TOLERANCE = 48
SCREEN_MATCH = 0.97   # share of matching pixels for "this is the reference screen"
WIDGET_MATCH = 0.90   # ... inside each button's and text's box
ABS_MAX = 0x7FFF      # usb-tablet's absolute axis range


# --- reference (host, Kivy offscreen) ----------------------------------------------------
def reference(size: tuple[int, int], out: Path) -> int:
    os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
    import dataclasses

    from kiosk.ui.app import build_app, configure_kivy
    from kiosk.ui.settings import UiConfig
    cfg = dataclasses.replace(UiConfig.load(Path(__file__).parents[2] / "config" / "kiosk.toml"),
                              width=size[0], height=size[1], fullscreen=False,
                              show_cursor=False)
    configure_kivy(cfg, headless=True)
    from devtools.harness import Harness
    from devtools.standins import InProcessPrinter, LocalDesk, StandInReader
    from kiosk.domain.session import Step
    from kiosk.ui.controller import run_now
    from kiosk.ui.ports import KioskDevices

    reader = StandInReader()
    reader.place()  # as on the image: the stand-in card lies on the stand-in reader
    app = build_app(cfg, KioskDevices(reader=reader, printer=InProcessPrinter(),
                                      desk=LocalDesk(), runner=run_now))
    h = Harness(app).start()
    out.mkdir(parents=True, exist_ok=True)
    plan: dict[str, Any] = {"size": list(size), "screens": []}
    for name, actions in VISIT:
        if name == "07-ticket" and app.controller.session.step is Step.PAYMENT:
            shot(h, out, plan, "06-payment", [["choose_payment", "counter"]])
        shot(h, out, plan, name, actions)
    (out / "plan.json").write_text(json.dumps(plan, indent=1))
    h.stop()
    print(f"screentest: reference of {len(plan['screens'])} screens in {out}", flush=True)
    return 0


def shot(h: Any, out: Path, plan: dict[str, Any], name: str, actions: list[list[str]]) -> None:
    h.app._tick()  # the card watch runs every 0.25 s; do not wait for it
    h.settle()
    h.screenshot(out / f"{name}.png")
    from kivy.uix.label import Label
    shown = [w for w in h.widgets() if visible(w)]
    buttons = unique(box(h, w) for w in shown if getattr(w, "action", None))
    texts = unique(box(h, w) for w in shown if isinstance(w, Label) and w.text.strip()
                   and not getattr(w, "action", None))
    taps = []
    for action in actions:
        taps.append({"action": action, "box": box(h, h.find(*action))})
        h.tap(*action)
    plan["screens"].append({"name": name, "buttons": buttons, "texts": texts, "taps": taps,
                            "then": str(h.app.controller.session.step)})


def unique(boxes: Iterable[list[int]]) -> list[list[int]]:
    return [list(b) for b in dict.fromkeys(tuple(b) for b in boxes)]


def visible(w: Any) -> bool:
    """Drawn at all: some size, and neither it nor a parent fully transparent."""
    if w.width <= 1 or w.height <= 1:
        return False
    while w is not None and w is not w.parent:
        if w.opacity <= 0:
            return False
        w = w.parent
    return True


def box(h: Any, w: Any) -> list[int]:
    """The widget's box in image coordinates (origin top left; Kivy's is bottom left)."""
    x0, y0 = w.to_window(w.x, w.y)
    x1, y1 = w.to_window(w.right, w.top)
    width, height = h.window.size
    return [max(0, round(x0)), max(0, round(height - y1)),
            min(width, round(x1)), min(height, round(height - y0))]


# --- pixels --------------------------------------------------------------------------------
def match(img: Any, ref: Any, box: tuple[int, int, int, int] | None = None) -> float:
    """Share of pixels within CHANNEL_TOLERANCE of the reference: of the whole screen, or
    in `box` the lower of all its pixels and its ink (what differs from the box's main
    colour: the text and outline of a button, the letters of a title)."""
    from PIL import ImageChops
    if box is not None:
        img, ref = img.crop(box), ref.crop(box)
    close = _within(ImageChops.difference(img.convert("RGB"), ref.convert("RGB")))
    every = _share(close)
    if box is None:
        return every
    main = max(ref.getcolors(1 << 24) or [(0, (0, 0, 0))])[1]
    ink = _within(ImageChops.difference(ref.convert("RGB"), _plain(ref, main))) \
        .point(lambda v: 255 - v)
    inked = ImageChops.multiply(close, ink)
    ink_count = ink.histogram()[255]
    return min(every, inked.histogram()[255] / ink_count) if ink_count else every


def _plain(like: Any, colour: tuple[int, int, int]) -> Any:
    from PIL import Image
    return Image.new("RGB", like.size, colour)


def _within(diff: Any) -> Any:
    """255 where no channel differs by more than CHANNEL_TOLERANCE, else 0."""
    from PIL import ImageChops
    r, g, b = diff.split()
    peak = ImageChops.lighter(ImageChops.lighter(r, g), b)
    return peak.point(lambda v: 255 if v <= CHANNEL_TOLERANCE else 0)


def _share(mask: Any) -> float:
    return float(mask.histogram()[255] / max(1, mask.width * mask.height))


def describe(img: Any) -> str:
    colours = img.convert("RGB").getcolors(1 << 24) or []
    top = sorted(colours, reverse=True)[:3]
    return f"{len(colours)} colours; most: " + ", ".join(
        f"#{r:02x}{g:02x}{b:02x} {n * 100 / (img.width * img.height):.0f}%" for n, (r, g, b) in top)


# --- QMP ---------------------------------------------------------------------------------
class Qmp:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self.file.readline()  # greeting
        self.call("qmp_capabilities")

    def call(self, command: str, **arguments: Any) -> Any:
        self.file.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"QMP {command}: {reply['error']}")

    def screendump(self, path: Path) -> Any:
        from PIL import Image
        self.call("screendump", filename=str(path))
        with Image.open(path) as img:
            return img.convert("RGB")

    def tap(self, x: float, y: float, size: tuple[int, int]) -> None:
        ax, ay = round(x * ABS_MAX / (size[0] - 1)), round(y * ABS_MAX / (size[1] - 1))
        move = [{"type": "abs", "data": {"axis": "x", "value": ax}},
                {"type": "abs", "data": {"axis": "y", "value": ay}}]
        self.call("input-send-event", events=move)
        time.sleep(0.3)
        for down in (True, False):
            self.call("input-send-event",
                      events=[{"type": "btn", "data": {"down": down, "button": "left"}}])
            time.sleep(0.3)


# --- drive (host, against the booted image) ------------------------------------------------
class Serial:
    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        try:
            return self.path.read_bytes().decode("utf-8", "replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    def wait(self, pattern: str, timeout: float) -> re.Match[str] | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = re.search(pattern, self.text(), re.M)
            if found:
                return found
            time.sleep(1)
        return None


def drive(qmp_path: str, serial: Serial, plan_dir: Path, out: Path, timeout: float) -> int:
    from PIL import Image
    plan = json.loads((plan_dir / "plan.json").read_text())
    size = tuple(plan["size"])
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    results: list[dict[str, Any]] = []

    def say(line: str) -> None:
        print(f"SCREENTEST {line}", flush=True)

    ready = serial.wait(r"^.*SCREENTEST ready .*$", timeout)
    if not ready:
        say(f"kiosk-ready FAIL no 'SCREENTEST ready' on the serial console within {timeout:.0f} s")
        return 1
    say(f"kiosk-ready PASS {ready.group(0).split('SCREENTEST ready ', 1)[1]}")
    while not os.path.exists(qmp_path):
        time.sleep(0.5)
    qmp = Qmp(qmp_path)
    failed = False
    for i, screen in enumerate(plan["screens"]):
        name = screen["name"]
        with Image.open(plan_dir / f"{name}.png") as ref_file:
            ref = ref_file.convert("RGB")
        wait_s = 240 if i == 0 else 90
        end = time.monotonic() + wait_s
        attempt = 0
        while True:
            attempt += 1
            img = qmp.screendump(out / f"{name}.ppm")
            score = match(img, ref) if img.size == ref.size else 0.0
            # Every button, and on the welcome screen every text, drawn where the app
            # draws it (later screens carry a ticket number or time of their own).
            wanted = screen["buttons"] + (screen["texts"] if i == 0 else [])
            if name.endswith("-ticket"):  # only the footer: the rest depends on the desk
                wanted = [b for b in wanted if b[1] >= 0.85 * size[1]]
            boxes = [match(img, ref, tuple(b)) for b in wanted] if img.size == ref.size else []
            # The ticket's number, wait and status QR come from the desk (the image's
            # back-office, the reference's local desk): there the footer must match, and
            # the app's journal must say a ticket was issued.
            whole = 0.5 if name.endswith("-ticket") else SCREEN_MATCH
            ok = score >= whole and all(b >= WIDGET_MATCH for b in boxes)
            if ok or time.monotonic() > end:
                break
            time.sleep(2)
        img.save(out / f"{name}.png", optimize=True)
        (out / f"{name}.ppm").unlink(missing_ok=True)
        at = time.monotonic() - t0
        detail = (f"{name}: {img.size[0]}x{img.size[1]}, {score * 100:.1f}% of pixels as the "
                  f"reference, {len(boxes)} buttons/texts in place: worst "
                  f"{min(boxes, default=1) * 100:.0f}%"
                  f"; {describe(img)}; {attempt} screendumps, at {at:.0f} s")
        results.append({"screen": name, "ok": ok, "match": round(score, 4),
                        "widgets": [round(b, 4) for b in boxes], "at_s": round(at, 1)})
        say(f"screen {'PASS' if ok else 'FAIL'} {detail}")
        if not ok:
            failed = True
            # For the diagnosis: does a touch (which makes the app draw again) change it?
            for t in screen["taps"][:1]:
                x0, y0, x1, y1 = t["box"]
                qmp.tap((x0 + x1) / 2, (y0 + y1) / 2, size)
                time.sleep(20)
                after = qmp.screendump(out / f"{name}-after-tap.ppm")
                after.save(out / f"{name}-after-tap.png")
                (out / f"{name}-after-tap.ppm").unlink(missing_ok=True)
                say(f"screen after a tap on {t['action']}: {describe(after)}")
            break
        for t in screen["taps"]:
            x0, y0, x1, y1 = t["box"]
            qmp.tap((x0 + x1) / 2, (y0 + y1) / 2, size)
            time.sleep(1.5)
    if not failed:
        outcome = serial.wait(r"visit: (ticket .*|no ticket .*)$", 60)
        ok = bool(outcome and outcome.group(1).startswith("ticket"))
        say(f"visit {'PASS' if ok else 'FAIL'} the app's journal: "
            f"{outcome.group(0) if outcome else 'no visit outcome within 60 s'}")
        failed = not ok
    if not failed:
        printed = serial.wait(r"SCREENTEST printed (\S+) (\S+)", 120)
        if printed:
            png = out / f"printer-{printed.group(1)}"
            png.write_bytes(base64.b64decode(printed.group(2)))
            with Image.open(png) as ticket:
                say(f"printer PASS {png.name}: {ticket.size[0]}x{ticket.size[1]}")
            results.append({"printer": png.name})
        else:
            say("printer FAIL no ticket PNG from the stand-in printer within 120 s")
            failed = True
    (out / "result.json").write_text(json.dumps(
        {"pass": not failed, "seconds": round(time.monotonic() - t0, 1), "steps": results},
        indent=1))
    say(f"RESULT {'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ref = sub.add_parser("reference")
    ref.add_argument("--size", default="1280x800")
    ref.add_argument("--out", type=Path, required=True)
    dr = sub.add_parser("drive")
    dr.add_argument("--qmp", required=True)
    dr.add_argument("--serial", type=Path, required=True)
    dr.add_argument("--plan", type=Path, required=True)
    dr.add_argument("--out", type=Path, required=True)
    dr.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    if args.command == "reference":
        w, h = (int(v) for v in args.size.split("x"))
        return reference((w, h), args.out)
    return drive(args.qmp, Serial(args.serial), args.plan, args.out, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
