"""`python -m kiosk --demo`: the kiosk with its stand-in card and printer against a real
back-office started by the demo orchestrator (kiosk.demo) — tickets are issued through
the sync package exactly as on a real kiosk.

    python -m kiosk --demo                                  a window (needs a display)
    python -m kiosk --demo --headless --walkthrough DIR     the scripted visits, offscreen

`start_kiosk(demo)` runs the same as a child process of `scripts/demo`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kiosk.configfile import REPO_ROOT
from kiosk.ui.settings import UiConfig


def demo_ports(backoffice_url: str, token: str, var_dir: Path) -> dict[str, Any]:
    """Stand-in card (placed on the reader, PIN 1234) and printer; the real sync link."""
    from kiosk.sync import KioskLink
    from kiosk.sync.sealing import generate_key
    from kiosk.sync.settings import BackofficeSettings, StoreSettings, SyncSettings
    from kiosk.ui.adapters import LinkDesk
    from kiosk.ui.standins import StandInPrinter, StandInReader

    var_dir.mkdir(parents=True, exist_ok=True)
    token_file = var_dir / "kiosk-device-token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    key = var_dir / "kiosk-outbox.key"
    if not key.exists():
        generate_key(key)
    settings = SyncSettings(
        backoffice=BackofficeSettings(url=backoffice_url, ward="kita",
                                      device_token_file=token_file, ca_bundle=None),
        store=StoreSettings(path=var_dir / "kiosk.db", key_file=key))
    link = KioskLink(settings)
    link.start()
    reader = StandInReader()
    reader.place()
    return {"reader": reader, "printer": StandInPrinter(), "desk": LinkDesk(link),
            "catalog": link.catalog(), "close": link.stop}


def kiosk_token(credentials: dict[str, Any]) -> str:
    return str(next(d["token"] for d in credentials["devices"]
                    if d["kind"] == "kiosk" and d.get("ward", "kita") == "kita"))


def run_demo(cfg: UiConfig, *, walkthrough: Path | None = None) -> int:
    """Start the demo back-office, then the kiosk against it (window or walkthrough)."""
    from kiosk.demo import VAR_DIR, running
    from kiosk.ui.app import build_app

    with running(VAR_DIR) as demo:
        ports = demo_ports(demo.backoffice_url, kiosk_token(demo.credentials),
                           demo.var_dir / "kiosk")
        if walkthrough is not None:
            from kiosk.ui.walkthrough import run_walkthrough
            try:
                return run_walkthrough(walkthrough, cfg, ports=ports)
            finally:
                ports["close"]()
        print(f"kiosk demo: back-office at {demo.backoffice_url}; the stand-in card "
              "is on the reader (PIN 1234)", flush=True)
        app = build_app(cfg, ports=ports)
        app.run()
        return 0


def start_kiosk(demo: Any, *, headless_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """The kiosk as a child of the demo orchestrator, attached to its back-office: a
    window when there is a display, else the headless walkthrough into `headless_dir`."""
    args = [sys.executable, "-m", "kiosk.ui.demo", demo.backoffice_url,
            kiosk_token(demo.credentials), str(demo.var_dir / "kiosk")]
    headless = headless_dir is not None or not os.environ.get("DISPLAY")
    if headless:
        screens = headless_dir or demo.var_dir / "kiosk-screens"
        args.append(str(screens))
        demo.urls["kiosk (headless visits, PNGs)"] = str(screens)
    log = (demo.var_dir / "kiosk.log").open("ab")
    proc = subprocess.Popen(args, cwd=REPO_ROOT, stdout=log, stderr=log,  # noqa: S603
                            env={**os.environ, "KIVY_NO_ARGS": "1",
                                 "PYTHONPATH": str(REPO_ROOT)})
    log.close()
    if not headless:  # the window runs as long as the demo; the walkthrough ends by itself
        demo.processes.append(proc)
    return proc


def main(argv: list[str]) -> int:
    """`python -m kiosk.ui.demo URL TOKEN VAR_DIR [SCREENS_DIR]` (used by start_kiosk)."""
    from kiosk.ui.app import build_app, configure_kivy
    url, token, var_dir = argv[0], argv[1], Path(argv[2])
    cfg = UiConfig.load()
    headless = len(argv) > 3
    configure_kivy(cfg, headless=headless, window=True)
    ports = demo_ports(url, token, var_dir)
    if headless:
        from kiosk.ui.walkthrough import run_walkthrough
        try:
            return run_walkthrough(Path(argv[3]), cfg, ports=ports)
        finally:
            ports["close"]()
    build_app(cfg, ports=ports).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
