"""The demo: one command that runs the system on this machine with stand-ins.

    scripts/demo            # runs until Ctrl-C
    scripts/demo --check    # starts everything, checks it answers, stops, exits 0

Today it starts the back-office on an embedded SQLite database in var/demo/ (migrated,
seeded with the demo wards from config/catalog.toml, demo accounts and device tokens with
fresh random secrets), prints the URLs and credentials and writes them to
var/demo/credentials.json. The kiosk and device stand-ins join here as small functions
(start_kiosk, start_payment, ...) called from `running`; with the kiosk, the payment
provider and terminal stand-ins run too and the kiosk offers cashless payment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from kiosk.configfile import REPO_ROOT

VAR_DIR = REPO_ROOT / "var" / "demo"


@dataclass
class Demo:
    """What the demo started: processes (stopped in reverse order) and what to tell the user."""

    var_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)
    backoffice_url: str = ""
    payment_config: Path | None = None   # set when the payment stand-ins run
    payment_env: dict[str, str] = field(default_factory=dict)
    terminal: tuple[str, str] | None = None  # the terminal stand-in's id and key (hex)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.processes):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.processes.clear()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_or_free(preferred: int, host: str = "127.0.0.1") -> int:
    """The well-known demo port when it is free, else any free one."""
    with socket.socket() as s:
        try:
            s.bind((host, preferred))
        except OSError:
            return free_port(host)
    return preferred


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with {proc.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def prepare_backoffice(demo: Demo) -> str:
    """Migrate + seed the demo database; remember the fresh credentials. Returns the DB URL."""
    from kiosk.backoffice.db import make_engine, migrate
    from kiosk.backoffice.seed import seed_demo
    from kiosk.configfile import load_catalog

    db_url = f"sqlite:///{demo.var_dir / 'backoffice.sqlite3'}"
    migrate(db_url)
    engine = make_engine(db_url, pool_size=1)
    try:
        demo.credentials = seed_demo(engine, load_catalog())
        if demo.terminal is not None:
            register_terminal(engine, *demo.terminal)
    finally:
        engine.dispose()
    path = demo.var_dir / "credentials.json"
    path.write_text(json.dumps(demo.credentials, ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
    path.chmod(0o600)
    return db_url


def register_terminal(engine: Any, terminal_id: str, key: str) -> None:
    """The terminal stand-in belongs to ward kita's demo kiosk, with this run's key."""
    from kiosk.backoffice.errors import ApiError
    from kiosk.backoffice.payments import terminals

    with contextlib.suppress(ApiError):  # a previous run's registration
        terminals.remove(engine, terminal_id, by="demo", ward=None)
    terminals.register(engine, "kiosk-kita-1", terminal_id, by="demo", ward=None, key=key)


def demo_config(demo: Demo) -> Path:
    """The demo runs at any hour: opening hours are shown but not enforced; its API is
    browsable at /docs."""
    src = (REPO_ROOT / "config" / "backoffice.toml").read_text(encoding="utf-8")
    path = demo.var_dir / "backoffice.toml"
    path.write_text(src.replace("enforce_opening_hours = true", "enforce_opening_hours = false")
                    .replace("api_docs = false", "api_docs = true"), encoding="utf-8")
    return path


def _stand_in(demo: Demo, module: str, banner: str, *args: str) -> int:
    """A stand-in from hardware.payment as a child process on a free port (it prints
    `<banner> <port>` once it listens); its log goes to var/demo/<name>.log."""
    log = (demo.var_dir / f"{module.rsplit('.', 1)[-1]}.log").open("ab")
    proc = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
        [sys.executable, "-m", module, "--port", "0", *args], cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=log,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    log.close()
    demo.processes.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith(banner):
        raise RuntimeError(f"{module} did not start (see {demo.var_dir})")
    return int(line.split()[-1])


def start_payment(demo: Demo, auto_scan_after: float = 8.0) -> None:
    """The code-payment provider stand-in (it "scans" every code by itself after
    `auto_scan_after` s) and the payment terminal stand-in, and the payment settings for
    the back-office and the kiosk (var/demo/payment.toml; fresh secrets each run)."""
    key, secret = secrets.token_hex(8), secrets.token_hex(16)
    provider = _stand_in(demo, "hardware.payment.provider", "PROVIDER LISTENING",
                         "--api-key", key, "--secret", secret,
                         "--auto-scan-after", str(auto_scan_after))
    demo.terminal = ("T-demo-kita-1", secrets.token_hex(32))
    key_file = demo.var_dir / "terminal.key"
    key_file.write_text(demo.terminal[1] + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    terminal = _stand_in(demo, "hardware.payment.terminal", "TERMINAL LISTENING",
                         "--poi-id", demo.terminal[0], "--key-file", str(key_file))
    src = (REPO_ROOT / "config" / "payment.toml").read_text(encoding="utf-8")
    path = demo.payment_config = demo.var_dir / "payment.toml"
    path.write_text(src.replace("port = 4100", f"port = {terminal}")
                    .replace("http://127.0.0.1:8700", f"http://127.0.0.1:{provider}")
                    .replace("poll_seconds = 2.0", "poll_seconds = 0.5"), encoding="utf-8")
    demo.payment_env = {"PAYMENT_CONFIG": str(path), "PAYMENT_PROVIDER_API_KEY": key,
                        "PAYMENT_WEBHOOK_SECRET": secret}
    demo.urls["payment provider stand-in"] = f"http://127.0.0.1:{provider}"
    demo.urls["payment terminal stand-in"] = f"tcp 127.0.0.1:{terminal}"


def start_backoffice(demo: Demo, host: str = "127.0.0.1", port: int | None = None) -> str:
    """Run the back-office server as a child process; returns its base URL."""
    db_url = prepare_backoffice(demo)
    port = port or port_or_free(8000, host)
    log = (demo.var_dir / "backoffice.log").open("ab")
    proc = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
        [sys.executable, "-m", "kiosk.backoffice", "serve", "--db", db_url, "--host", host,
         "--port", str(port), "--config", str(demo_config(demo))],
        cwd=REPO_ROOT, stdout=log, stderr=log,
        env={**os.environ, **demo.payment_env, "PYTHONPATH": str(REPO_ROOT)})
    log.close()
    demo.processes.append(proc)
    url = demo.backoffice_url = f"http://{host}:{port}"
    wait_healthy(url + "/healthz", proc)
    demo.urls.update({
        "back-office API (OpenAPI)": url + "/docs",
        "counter console": url + "/console",
        "lobby display (ward kita)": url + "/display",
        "supervisor overview": url + "/supervisor",
    })
    return url


def describe(demo: Demo) -> str:
    lines = ["", "Ward-office smart counter — demo", ""]
    lines += [f"  {name:28s} {url}" for name, url in demo.urls.items()]
    lines += ["", "  Sign-ins (random, new each run; also in "
              f"{demo.var_dir / 'credentials.json'}):"]
    for a in demo.credentials.get("accounts", []):
        lines.append(f"    {a['username']:11s} {a['password']}   ({a['role']}"
                     + (f", ward {a['ward']}" if a["ward"] else "") + ")")
    lines.append("  Device tokens:")
    for d in demo.credentials.get("devices", []):
        lines.append(f"    {d['name']:16s} {d['token']}")
    lines.append(f"\n  Logs: {demo.var_dir}/*.log    Stop: Ctrl-C\n")
    return "\n".join(lines)


def start_kiosk(demo: Demo) -> None:
    """The kiosk app attached to this back-office — the stand-in card through a private
    pcscd + vpcd (in-process stand-in when those are missing), the ESC/POS stand-in
    printer over TCP (tickets as PNGs in var/demo/kiosk/printer): a window with a
    display, else the scripted visits offscreen into var/demo/kiosk-screens.
    Lives in kiosk/ui/demo.py (the kiosk issue)."""
    from kiosk.ui.demo import start_kiosk as start
    start(demo)


@contextlib.contextmanager
def running(var_dir: Path = VAR_DIR, host: str = "127.0.0.1",
            port: int | None = None, kiosk: bool = False,
            payment: bool = False) -> Iterator[Demo]:
    var_dir.mkdir(parents=True, exist_ok=True)
    demo = Demo(var_dir)
    try:
        if payment or kiosk:  # the kiosk offers cashless payment against the stand-ins
            start_payment(demo)
        start_backoffice(demo, host, port)
        if kiosk:
            start_kiosk(demo)
        yield demo
    finally:
        demo.stop()


def check(demo: Demo) -> None:
    """Prove the demo works: the back-office answers and issues a ticket to the demo kiosk."""
    kiosk = next(d for d in demo.credentials["devices"] if d["kind"] == "kiosk")
    answer = requests.post(demo.backoffice_url + "/api/v1/tickets", timeout=10,
                           json={"service": "certificates"},
                           headers={"Authorization": f"Bearer {kiosk['token']}",
                                    "Idempotency-Key": f"demo-check-{time.time_ns()}"})
    answer.raise_for_status()
    ticket = answer.json()
    print(f"demo check: issued {ticket['number']} at ward {ticket['ward']}; all good")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", "--once", action="store_true", dest="check",
                    help="start, verify, stop and exit 0 when everything answered")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int,
                    help="back-office port (default: 8000 if free, else a free one)")
    ap.add_argument("--var-dir", type=Path, default=VAR_DIR)
    args = ap.parse_args(argv)
    from kiosk.logsetup import configure
    configure("INFO")
    try:
        with running(args.var_dir, args.host, args.port, kiosk=not args.check) as demo:
            print(describe(demo), flush=True)
            if args.check:
                check(demo)
                return 0
            while all(p.poll() is None for p in demo.processes):
                time.sleep(0.5)
            print("a demo process stopped; see the logs", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
