"""The demo: one command that runs the system on this machine with stand-ins.

    scripts/demo            # runs until Ctrl-C
    scripts/demo --check    # starts everything, checks it answers, stops, exits 0

Today it starts the back-office on an embedded SQLite database in var/demo/ (migrated,
seeded with the demo wards from config/catalog.toml, demo accounts and device tokens with
fresh random secrets), prints the URLs and credentials and writes them to
var/demo/credentials.json. The kiosk and device stand-ins join here as small functions
(start_kiosk, start_payment, ...) called from `running`; with the kiosk, the payment
provider and terminal stand-ins run too and the kiosk offers cashless payment.

Ctrl-C, SIGTERM or SIGHUP (a service manager, `timeout`, a closed terminal) stop the demo
and everything it started: it is the subreaper of its process tree, so whatever a child
left behind is found and stopped too.

Over 400 lines: the process-tree supervision (subreaper, signals, clean stop) and the
start-up of each part belong together; splitting them would scatter one lifecycle.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import select
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
STAND_IN_START_SECONDS = 30.0
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


@dataclass
class Demo:
    """What the demo started: processes (stopped in reverse order) and what to tell the user."""

    var_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # children that end by themselves when done (the headless kiosk's scripted visits)
    finite: list[subprocess.Popen[bytes]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)
    backoffice_url: str = ""
    # set when the payment stand-ins run: the kiosk's side (a kiosk.toml whose [payment]
    # names the terminal stand-in), the provider stand-in's URL, and the back-office's
    # secrets (its environment only, never the kiosk's)
    payment_config: Path | None = None
    provider_url: str = ""
    payment_env: dict[str, str] = field(default_factory=dict)
    terminal: tuple[str, str] | None = None  # the terminal stand-in's id and key (hex)
    kiosk_window: bool = False  # the kiosk runs in a window (a display is there)
    logs: dict[int, Path] = field(default_factory=dict)  # pid -> the child's log
    # this process is the demo (scripts/demo, python -m devtools --demo): on stop, whatever
    # runs below it goes too; never so inside a process that has other children (pytest)
    owns_tree: bool = False

    def start(self, args: list[str], log: Path, *, finite: bool = False,
              **kwargs: Any) -> subprocess.Popen[bytes]:
        """A child with stderr (and stdout unless given) in `log`, stopped by stop()."""
        with log.open("ab") as out:
            proc = subprocess.Popen(args, cwd=REPO_ROOT, stderr=out,  # noqa: S603
                                    **{"stdout": out, **kwargs})
        (self.finite if finite else self.processes).append(proc)
        self.logs[proc.pid] = log
        return proc

    def stop(self) -> None:
        """Each child in reverse order of start, then whatever is left below this process
        (a grandchild whose parent was killed before it could stop it), if `owns_tree`."""
        if self.owns_tree:
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut this short
        children = [*self.finite, *reversed(self.processes)]
        for proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in children:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.processes.clear()
        self.finite.clear()
        if self.owns_tree:
            stop_descendants()

    def failed(self) -> str | None:
        """What stopped when it should not have (None: all is well)."""
        for proc in [*self.processes, *self.finite]:
            if proc.poll() is not None and (proc.returncode or proc in self.processes):
                return f"{_name(proc)} exited with {proc.returncode}" + self._last_words(proc)
        return None

    def _last_words(self, proc: subprocess.Popen[bytes]) -> str:
        log = self.logs.get(proc.pid)
        lines = log.read_text(errors="replace").strip().splitlines() if log else []
        return f": {lines[-1]}" if lines else ""


def _name(proc: subprocess.Popen[bytes]) -> str:
    args = [str(a) for a in proc.args] if isinstance(proc.args, list) else [str(proc.args)]
    return next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-m"), args[0])


def become_subreaper() -> None:
    """Orphaned descendants become this process's children (Linux), so stop_descendants
    finds them. Elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def descendants(pid: int) -> list[int]:
    """The live processes below `pid`, from /proc (empty where there is none)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_descendants(grace: float = 3.0) -> None:
    """SIGTERM to every process below this one, SIGKILL after `grace` s, then reap."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = descendants(os.getpid())
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while left and time.monotonic() < deadline:
            _reap()
            time.sleep(0.05)
            left = descendants(os.getpid())
        if not left:
            break
    _reap()


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop as on Ctrl-C."""


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the demo like Ctrl-C: the clean-up in `finally` runs."""
    def stop(signum: int, _frame: object) -> None:
        raise Stopped(signal.Signals(signum).name)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


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
    from kiosk.backoffice.engine.errors import NotFound
    from kiosk.backoffice.payments import terminals

    with contextlib.suppress(NotFound):  # a previous run's registration
        terminals.remove(engine, terminal_id, by="demo", ward=None)
    terminals.register(engine, "kiosk-kita-1", terminal_id, by="demo", ward=None, key=key)


def demo_config(demo: Demo) -> Path:
    """The demo runs at any hour: opening hours are shown but not enforced; its API is
    browsable at /docs."""
    src = (REPO_ROOT / "config" / "backoffice.toml").read_text(encoding="utf-8")
    if demo.provider_url:
        src = src.replace('provider_url = "http://127.0.0.1:8700"',
                          f'provider_url = "{demo.provider_url}"')
    path = demo.var_dir / "backoffice.toml"
    path.write_text(src.replace("enforce_opening_hours = true", "enforce_opening_hours = false")
                    .replace("api_docs = false", "api_docs = true"), encoding="utf-8")
    return path


def _stand_in(demo: Demo, module: str, banner: str, *args: str) -> int:
    """A stand-in from hardware.payment as a child process on a free port (it prints
    `<banner> <port>` once it listens); its log goes to var/demo/<name>.log."""
    proc = demo.start([sys.executable, "-m", module, "--port", "0", *args],
                      demo.var_dir / f"{module.rsplit('.', 1)[-1]}.log",
                      stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], STAND_IN_START_SECONDS)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith(banner):
        raise RuntimeError(f"{module} did not start (see {demo.var_dir})")
    return int(line.split()[-1])


def start_payment(demo: Demo, auto_scan_after: float = 8.0) -> None:
    """The code-payment provider stand-in (it "scans" every code by itself after
    `auto_scan_after` s) and the payment terminal stand-in, and the payment settings for
    the back-office ([payment] of var/demo/backoffice.toml, fresh secrets each run in its
    environment) and the kiosk ([payment] of var/demo/kiosk.toml)."""
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
    src = (REPO_ROOT / "config" / "kiosk.toml").read_text(encoding="utf-8")
    path = demo.payment_config = demo.var_dir / "kiosk.toml"
    path.write_text(src.replace("port = 4100", f"port = {terminal}")
                    .replace("poll_seconds = 2.0", "poll_seconds = 0.5"), encoding="utf-8")
    demo.provider_url = f"http://127.0.0.1:{provider}"
    demo.payment_env = {"PAYMENT_PROVIDER_API_KEY": key, "PAYMENT_WEBHOOK_SECRET": secret}
    demo.urls["payment provider stand-in"] = f"http://127.0.0.1:{provider}"
    demo.urls["payment terminal stand-in"] = f"tcp 127.0.0.1:{terminal}"


def start_backoffice(demo: Demo, host: str = "127.0.0.1", port: int | None = None) -> str:
    """Run the back-office server as a child process; returns its base URL."""
    db_url = prepare_backoffice(demo)
    port = port or port_or_free(8000, host)
    proc = demo.start(
        [sys.executable, "-m", "kiosk.backoffice", "serve", "--db", db_url, "--host", host,
         "--port", str(port), "--config", str(demo_config(demo))],
        demo.var_dir / "backoffice.log",
        env={**os.environ, **demo.payment_env, "PYTHONPATH": str(REPO_ROOT)})
    url = demo.backoffice_url = f"http://{host}:{port}"
    wait_healthy(url + "/healthz", proc)
    demo.urls.update({
        "back-office API (OpenAPI)": url + "/docs",
        "counter console": url + "/console",
        "lobby display (ward kita)": url + "/display",
        "supervisor overview": url + "/supervisor",
        "phone status page": url + "/status/<token> (the QR on every ticket)",
    })
    return url


def stand_in_pin() -> str:
    """The stand-in My Number card's PIN (hardware/card/profiles/yamada.toml: test data)."""
    import tomllib
    profile = REPO_ROOT / "hardware" / "card" / "profiles" / "yamada.toml"
    return str(tomllib.loads(profile.read_text(encoding="utf-8"))["card"]["pin"])


def describe(demo: Demo) -> str:
    lines = ["", "Ward-office smart counter — demo", ""]
    lines += [f"  {name:28s} {url}" for name, url in demo.urls.items()]
    if demo.finite or demo.kiosk_window:
        lines += ["", "  The stand-in My Number card (山田 太郎, test data) is on the kiosk's "
                  f"reader: its PIN is {stand_in_pin()}.",
                  "  A ticket's QR opens its phone status page; call it from the counter "
                  "console (sign in as a clerk below)."]
    lines += ["", "  Sign-ins (random, new each run; also in "
              f"{demo.var_dir / 'credentials.json'}):"]
    for a in demo.credentials.get("accounts", []):
        lines.append(f"    {a['username']:11s} {a['password']}   ({a['role']}"
                     + (f", ward {a['ward']}" if a["ward"] else "") + ")")
    lines.append("  Device tokens:")
    for d in demo.credentials.get("devices", []):
        lines.append(f"    {d['name']:16s} {d['token']}")
    lines.append(f"\n  Logs: {demo.var_dir}/*.log")
    lines.append(f"  Stop: Ctrl-C here, or `kill {os.getpid()}` (SIGTERM or SIGHUP): every "
                 "process the demo started stops with it.\n")
    return "\n".join(lines)


def start_kiosk(demo: Demo) -> None:
    """The kiosk app attached to this back-office — the stand-in card through a private
    pcscd + vpcd (in-process stand-in when those are missing), the ESC/POS stand-in
    printer over TCP (tickets as PNGs in var/demo/kiosk/printer): a window with a
    display, else the scripted visits offscreen into var/demo/kiosk-screens.
    Lives in devtools/kiosk_demo.py."""
    from devtools.kiosk_demo import start_kiosk as start
    start(demo)


@contextlib.contextmanager
def running(var_dir: Path = VAR_DIR, host: str = "127.0.0.1",
            port: int | None = None, kiosk: bool = False,
            payment: bool = False, owns_tree: bool = False) -> Iterator[Demo]:
    """The demo's processes while the block runs. `owns_tree`: this process is the demo
    (its entry point): it adopts orphans and stops everything below it at the end."""
    var_dir.mkdir(parents=True, exist_ok=True)
    demo = Demo(var_dir, owns_tree=owns_tree)
    if owns_tree:
        become_subreaper()
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
    stop_on_signals()
    try:
        with running(args.var_dir, args.host, args.port, kiosk=not args.check,
                     owns_tree=True) as demo:
            print(describe(demo), flush=True)
            if args.check:
                check(demo)
                return 0
            while (failed := demo.failed()) is None:
                time.sleep(0.5)
            print(f"demo: {failed}; see {demo.var_dir}/*.log", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
