"""Web pages: how fast a call reaches the lobby display and the phone, and page load times.

Starts a real back-office (subprocess, SQLite) and headless Debian Chromium, opens the
lobby display and one phone status page, then calls tickets at a counter through the API
and measures, inside the browser, when each number appears (MutationObserver, wall
clock). FQM's display polls every 2 s; ZMS's every 10 s.

    .venv/bin/python tests/bench/bench_web.py [--quick] [--calls N]

Prints the figures, then one JSON line with them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.backoffice import ServerFactory  # noqa: E402
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

WATCH_JS = """
(selector) => {
  window.__seen = {};
  new MutationObserver(function () {
    document.querySelectorAll(selector).forEach(function (n) {
      const k = n.getAttribute("data-number") || n.textContent;
      if (!(k in window.__seen)) window.__seen[k] = Date.now();
    });
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def run(calls: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    factory = ServerFactory(Path(tempfile.mkdtemp(prefix="bench-web-")))
    try:
        server = factory.start()
        staff = server.session("staff")
        kiosk = server.session("kiosk")

        def issue() -> dict[str, Any]:
            resp = kiosk.post(server.api("/tickets"), json={"service": "certificates"},
                              headers={"Idempotency-Key": uuid.uuid4().hex})
            resp.raise_for_status()
            return dict(resp.json())

        tickets = [issue() for _ in range(calls)]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            t0 = time.perf_counter()
            page.goto(f"{server.url}/display?ward=kita#token={server.display_token}")
            page.wait_for_selector("body[data-rendered]")
            display_load = time.perf_counter() - t0
            page.evaluate(WATCH_JS, "#now-calling li")

            phone = browser.new_page(viewport={"width": 360, "height": 640})
            last = tickets[-1]
            t0 = time.perf_counter()
            phone.goto(f"{server.url}/status/{last['status_token']}")
            phone.wait_for_load_state("load")
            phone_load = time.perf_counter() - t0

            console = browser.new_page(viewport={"width": 1366, "height": 768})
            t0 = time.perf_counter()
            console.goto(f"{server.url}/console?ward=kita&counter=2")
            console.fill("#login-user", "staff")
            console.fill("#login-pass", server.passwords["staff"])
            console.click("#login-submit")
            console.wait_for_selector("#work-view:not([hidden]) #queues table")
            console_ready = time.perf_counter() - t0

            display_lat: list[float] = []
            phone_lat: list[float] = []
            for i, ticket in enumerate(tickets):
                sent = time.time()
                resp = staff.post(server.api("/wards/kita/counters/1/call-next"))
                resp.raise_for_status()
                page.wait_for_function("n => n in window.__seen", arg=ticket["number"])
                display_lat.append(page.evaluate("n => window.__seen[n]", ticket["number"])
                                   / 1000 - sent)
                if i == len(tickets) - 1:
                    phone.wait_for_selector("#called:not([hidden])")
                    phone_lat.append(time.time() - sent)
                else:  # the last resident's phone counts people ahead down meanwhile
                    staff.post(server.api(f"/tickets/{ticket['id']}/no-show"),
                               json={"counter": 1}).raise_for_status()
            browser.close()
    finally:
        factory.close()
    return {
        "calls": calls,
        "display_call_latency_ms_p50": ms(statistics.median(display_lat)),
        "display_call_latency_ms_p95": ms(pct(display_lat, 95)),
        "display_call_latency_ms_max": ms(max(display_lat)),
        "phone_called_latency_ms": ms(phone_lat[0]) if phone_lat else None,
        "display_first_render_ms": ms(display_load),
        "phone_page_load_ms": ms(phone_load),
        "console_login_to_ready_ms": ms(console_ready),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (5 calls)")
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    figures = run(5 if args.quick else args.calls)
    for key, value in figures.items():
        print(f"{key:34} {value}")
    print(json.dumps({"bench": "web", **figures}))


if __name__ == "__main__":
    main()
