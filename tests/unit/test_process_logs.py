"""Every process logs through the redaction filter: the kiosk app (Kivy included), the
kiosk service, the back-office (uvicorn's loggers included), the sync CLI.

Each real process is run as it runs in production, with one of its functions made to
raise an exception whose message carries a resident's name, a 個人番号 (valid check
digit) and a PIN (tests/unit/fault_injection). Every stream (stdout, stderr) and every
file the process wrote is then searched for the three values.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from kiosk.domain.my_number import is_valid
from tests.support.backoffice import REPO, ServerFactory

FAULTS = Path(__file__).parent / "fault_injection"
NAME_JA, NAME_LATIN = "山田花子", "Hanako Yamada"
MY_NUMBER = "123456789018"
PIN = "5807"
SECRET_MESSAGE = (f"resident {NAME_JA} ({NAME_LATIN}) number {MY_NUMBER} "
                  f"entered PIN {PIN} / pin={PIN}")


def _leaks(text: str) -> list[str]:
    found = [v for v in (NAME_JA, NAME_LATIN, MY_NUMBER) if v in text]
    if re.search(rf"(?<![0-9]){PIN}(?![0-9])", text):
        found.append(PIN)
    return found


def _files_text(*folders: Path) -> str:
    """Everything written under the folders (logs, health reports, Kivy's home)."""
    return "\n".join(p.read_text(errors="replace") for folder in folders
                     for p in sorted(folder.rglob("*")) if p.is_file())


def _env(tmp: Path, fault_at: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{FAULTS}{os.pathsep}{REPO}",
            "FAULT_AT": fault_at, "FAULT_MESSAGE": SECRET_MESSAGE,
            "KIVY_HOME": str(tmp / "kivy-home"), "SDL_VIDEODRIVER": "offscreen", **extra}


def test_the_test_values_are_what_the_filter_must_catch() -> None:
    assert is_valid(MY_NUMBER)           # a real 個人番号 shape, not any 12 digits
    assert _leaks(SECRET_MESSAGE) == [NAME_JA, NAME_LATIN, MY_NUMBER, PIN]


def test_kiosk_app_and_kivy_log_through_the_filter(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[ui]\ndesk = "standin"\nfullscreen = false\nwidth = 800\nheight = 600\n'
                      '[card]\nbackend = "standin"\n'
                      '[printer]\ntransport = "standin"\nport = 0\n'
                      f'standin_output_dir = "{tmp_path}"\n',
                      encoding="utf-8")
    # The controller's tick (every 0.25 s from Kivy's clock) raises inside Kivy's loop.
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "--config", str(config), "--window"],
        cwd=REPO, env=_env(tmp_path, "kiosk.ui.controller:Controller.tick"),
        capture_output=True, text=True, timeout=120)
    out, err = proc.stdout, proc.stderr
    assert proc.returncode != 0, err[-3000:]
    assert "CRITICAL kiosk.uncaught: uncaught exception" in err, err[-3000:]
    assert "RuntimeError: [message withheld" in err
    assert "in _tick" in err                                 # the frames are kept
    assert re.search(r" INFO kivy: ", err), err[-3000:]      # Kivy's logger, at INFO, ours
    assert "[INFO   ]" not in err + out                      # no Kivy console handler
    assert _leaks(out + err + _files_text(tmp_path)) == []


def test_kiosk_service_logs_through_the_filter(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk.service", "--standin", "--data-dir", str(data),
         "--max-seconds", "5"],
        cwd=REPO, env=_env(tmp_path, "kiosk.watchdog:ready"),
        capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "INFO __main__: kiosk stand-in service" in proc.stderr   # INFO, ours
    assert "CRITICAL kiosk.uncaught" in proc.stderr and "in run_standin" in proc.stderr
    assert _leaks(proc.stdout + proc.stderr + _files_text(tmp_path)) == []


def _failing_backoffice(factory: ServerFactory, tmp: Path, db: str | None = None,
                        workers: int = 1) -> str:
    """Serve, make a request fail with the values, stop; the server's stdout + stderr."""
    try:
        server = factory.start(db, workers=workers, env={k: v for k, v in _env(
            tmp, "kiosk.backoffice.engine.views:estimates_view").items()
            if k in ("PYTHONPATH", "FAULT_AT", "FAULT_MESSAGE")})
        answer = requests.get(server.api("/wards/kita/estimates"), timeout=10)
        assert answer.status_code == 500
        assert SECRET_MESSAGE not in answer.text
        _wait_for(lambda: "Exception in ASGI application" in server.log_text())
    finally:
        factory.close()
    return server.log_text() + _files_text(server.var_dir)


def test_backoffice_workers_log_through_the_filter(
        backoffice_factory: ServerFactory, tmp_path: Path) -> None:
    """Several server processes (SO_REUSEPORT, PostgreSQL): each worker's uvicorn too."""
    text = _failing_backoffice(backoffice_factory, tmp_path, "postgres", workers=2)
    assert "ERROR uvicorn.error: Exception in ASGI application" in text
    assert _leaks(text) == []


def test_backoffice_and_uvicorn_log_through_the_filter(tmp_path: Path) -> None:
    text = _failing_backoffice(ServerFactory(tmp_path), tmp_path)
    assert "ERROR kiosk.backoffice" in text and "unexpected error" in text   # the app's
    assert "ERROR uvicorn.error: Exception in ASGI application" in text        # uvicorn's
    assert "in get_estimates" in text
    assert _leaks(text) == []


def test_uncaught_exception_in_a_thread_goes_through_the_filter(tmp_path: Path) -> None:
    code = ("import threading\n"
            "from kiosk.logsetup import configure\n"
            "configure('INFO')\n"
            "def work():\n"
            f"    raise ValueError({SECRET_MESSAGE!r})\n"
            "t = threading.Thread(target=work, name='worker'); t.start(); t.join()\n"
            f"raise KeyError({SECRET_MESSAGE!r})\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 1
    assert "uncaught exception in thread worker" in proc.stderr
    assert "ValueError: [message withheld" in proc.stderr
    assert "KeyError: [message withheld" in proc.stderr
    assert _leaks(proc.stdout + proc.stderr) == []


def test_sync_cli_logs_through_the_filter(tmp_path: Path) -> None:
    """`python -m kiosk.sync status` failing while it reads the outbox."""
    config = tmp_path / "kiosk.toml"
    (tmp_path / "token").write_text("dv_x\n")
    config.write_text('[backoffice]\nurl = "https://127.0.0.1:9"\nward = "kita"\n'
                      'device_token_file = "token"\n[store]\npath = "k.db"\n'
                      'key_file = "k.key"\n', encoding="utf-8")
    subprocess.run([sys.executable, "-m", "kiosk.sync", "keygen", str(tmp_path / "k.key")],
                   cwd=REPO, check=True, capture_output=True)
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk.sync", "status", "--config", str(config)],
        cwd=REPO, env=_env(tmp_path, "kiosk.sync.link:KioskLink.status"),
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "CRITICAL kiosk.uncaught" in proc.stderr, proc.stderr
    assert _leaks(proc.stdout + proc.stderr + _files_text(tmp_path)) == []


def _wait_for(check: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_kiosk_config_error_is_an_error_record(tmp_path: Path) -> None:
    """A config the app refuses stops it with status 2 and an ERROR record (the journal's
    priority err), not a plain print: the image's app-exited.sh shows the err lines of the
    run on the console, and a print there was an empty reason."""
    bad = tmp_path / "kiosk.toml"
    bad.write_text('[ui]\nlanguage = 5\n', encoding="utf-8")
    env = {**os.environ, "KIVY_HOME": str(tmp_path / "kivy-home"), "KIVY_NO_ARGS": "1",
           "SDL_VIDEODRIVER": "offscreen"}
    env.pop("JOURNAL_STREAM", None)
    done = subprocess.run([sys.executable, "-m", "kiosk", "--config", str(bad)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert re.search(r"ERROR kiosk\.ui\.app: the kiosk cannot start: .*ui\.language",
                     done.stderr), done.stderr[-2000:]
