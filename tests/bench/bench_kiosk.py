#!/usr/bin/env python3
"""Kiosk benchmarks: cold start to first frame, screen change p95, memory across
scripted visits, touches for a 住民票の写し request with a card.

    .venv/bin/python tests/bench/bench_kiosk.py [--quick]

Runs offscreen (SDL_VIDEODRIVER=offscreen, Mesa) at the configured 1920x1080; a screen
change counts until its frame is rasterised (glFinish: software GL would otherwise
finish it during the next change). Prints
the figures, then one JSON line with them. Targets: first frame ≤ 1.5 s, screen change
p95 ≤ 100 ms, memory flat within 10 % over 2,000 visits, ≤ 8 touches plus the PIN.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

COLD = """
import time; t0 = time.perf_counter()
from kiosk.ui.app import build_app, configure_kivy
from kiosk.ui.ports import KioskDevices
from kiosk.ui.settings import UiConfig
from devtools.standins import LocalDesk, InProcessPrinter, StandInReader
cfg = UiConfig.load(); configure_kivy(cfg, headless=True)
app = build_app(cfg, KioskDevices(reader=StandInReader(), printer=InProcessPrinter(),
                                  desk=LocalDesk()))
from devtools.harness import Harness
h = Harness(app).start()
while app.first_frame_at is None:
    h.pump()
print(app.first_frame_at - t0)
"""


def cold_start(runs: int) -> float:
    times = []
    for _ in range(runs):
        env = dict(os.environ, KIVY_HOME=tempfile.mkdtemp(prefix="kivy-home-"))
        out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True,
                             env=env, cwd=ROOT, check=True, timeout=120)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    from devtools.standins import InProcessPrinter, LocalDesk, StandInCard, StandInReader
    from kiosk.domain.session import PayMethod, Step
    from kiosk.ui.app import build_app, configure_kivy
    from kiosk.ui.controller import run_now
    from kiosk.ui.ports import KioskDevices
    from kiosk.ui.settings import UiConfig

    first_frame = cold_start(1 if quick else 3)
    print(f"cold start to first frame: {first_frame * 1000:.0f} ms (median)")

    cfg = UiConfig.load()
    configure_kivy(cfg, headless=True)
    reader = StandInReader()
    app = build_app(cfg, KioskDevices(reader=reader, printer=InProcessPrinter(),
                                      desk=LocalDesk(online=True), runner=run_now))
    app.sound.enabled = False
    from kivy.graphics.opengl import glFinish

    from devtools.harness import Harness
    h = Harness(app).start()
    c = app.controller

    # Touches: the real widgets, counted by the session.
    reader.place(StandInCard())
    h.tap("start")
    h.tap("choose_procedure", "juminhyo")
    h.tap("choose_card")
    app._tick()
    h.settle()
    for d in "1234":
        h.tap("pin_press", d)
    h.tap("take_pin")
    h.tap("confirm")
    h.tap("choose_payment", PayMethod.COUNTER)
    assert c.session.step is Step.TICKET
    touches = c.session.visit_touches - 5  # the PIN: 4 digits + 決定
    print(f"touches for 住民票の写し with a card: {touches} + PIN (4 digits + 決定)")
    c.end_visit()
    h.settle()

    def visit(draw: bool = True) -> list[float]:
        """One scripted card visit through the app; returns each screen change's time
        (the session step, the screen's refresh and, with `draw`, the frame)."""
        changes = []
        reader.place(StandInCard())

        def step(name: str, *args: object) -> None:
            t = time.perf_counter()
            app.act(name, *args)
            if draw:
                h.pump()  # the new screen is drawn and flipped …
                glFinish()  # … and rasterised: software GL would otherwise finish the
                # frame during the next change and bill it there
            changes.append(time.perf_counter() - t)

        step("start")
        step("choose_procedure", "juminhyo")
        step("choose_card")
        c.tick()
        h.pump()
        for d in "1234":
            app.act("pin_press", d)
        step("take_pin")
        step("set_count", "copies", 1)
        step("confirm")
        step("choose_payment", PayMethod.COUNTER)
        step("finish")
        c.end_visit()
        h.pump()
        return changes

    # Screen changes, drawn frame by frame.
    changes: list[float] = []
    for _ in range(20 if quick else 100):
        changes += visit()
    # Memory: many visits through the same session, screens and widgets; a frame is
    # drawn every 50th visit (software GL on a shared machine is the slow part).
    n = 200 if quick else 2000
    warm = max(n // 10, 10)
    for i in range(warm):
        visit(draw=i % 50 == 0)
    base = rss_kb()
    undrawn: list[float] = []
    for i in range(n - warm):
        times = visit(draw=i % 50 == 0)
        if i % 50:
            undrawn += times
    end = rss_kb()
    undrawn.sort()
    work_p95 = undrawn[int(len(undrawn) * 0.95)]
    changes.sort()
    p95 = changes[int(len(changes) * 0.95)]
    growth = (end - base) / base * 100
    load = os.getloadavg()[0]
    print(f"screen change: p50 {changes[len(changes) // 2] * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms over {len(changes)} changes (load average {load:.1f})")
    print(f"screen change without the frame (session + screen refresh): "
          f"p95 {work_p95 * 1000:.1f} ms over {len(undrawn)} changes")
    print(f"memory over {n} visits: {base} kB after {warm} → {end} kB ({growth:+.1f} %)")
    h.stop()
    figures = {"cold_start_first_frame_ms": round(first_frame * 1000),
               "screen_change_p95_ms": round(p95 * 1000, 1),
               "screen_change_p50_ms": round(changes[len(changes) // 2] * 1000, 1),
               "screen_work_p95_ms": round(work_p95 * 1000, 1),
               "visits": n, "rss_start_kb": base, "rss_end_kb": end,
               "rss_growth_pct": round(growth, 1), "touches_juminhyo_card": touches,
               "load_average": round(load, 1),
               "quick": quick}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
