"""deploy/systemd/ward-backoffice.service starts the server the way docs/operations.md says:
its command line is one the real CLI accepts with the example environment file, it runs as
an unprivileged user, and relative paths of the config (the appointment hash key, the
SQLite default) land in its private state directory."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "systemd"


def unit() -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    cp.read(DEPLOY / "ward-backoffice.service", encoding="utf-8")
    return cp


def environment() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in
             (DEPLOY / "ward-backoffice.env").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#"))
    return {k: v for k, v in pairs}


def test_the_command_line_is_one_the_server_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    line = unit()["Service"]["ExecStart"]
    expanded = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line)
    argv = shlex.split(expanded)
    assert argv[1:3] == ["-m", "kiosk.backoffice"]
    from kiosk.backoffice.__main__ import _parser

    args = _parser().parse_args(argv[3:])
    assert args.command == "serve"
    assert (args.host, args.port, args.workers) == ("10.0.1.11", 8000, 2)
    assert args.config == "/etc/ward/backoffice.toml"
    assert args.db == env["WARD_BACKOFFICE_DB"]  # read from the environment, not the line
    assert "target_session_attrs=read-write" in args.db


def test_it_runs_unprivileged_in_its_own_state_directory() -> None:
    service = unit()["Service"]
    assert service["User"] not in ("", "root") and service["Group"] not in ("", "root")
    assert service["WorkingDirectory"] == "%S/" + service["StateDirectory"]
    assert service["StateDirectoryMode"] == "0700" and service["UMask"] == "0077"
    assert service["Restart"] == "always" and service["NoNewPrivileges"] == "yes"
    assert int(service["LimitNOFILE"]) >= 16384  # HAProxy's maxconn 8000 behind it


def test_relative_paths_land_in_the_working_directory(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.backoffice import hash_key

    monkeypatch.delenv(hash_key.ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # what WorkingDirectory=%S/ward-backoffice does
    hash_key.read_or_create(hash_key.DEFAULT_FILE)
    made = tmp_path / hash_key.DEFAULT_FILE
    assert made.is_file() and made.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_reads_the_unit_without_complaint(tmp_path: Path) -> None:
    """systemd's own parser: unknown keys or bad values are reported. The python path and
    the user exist only on a real host, so a copy points at this interpreter and root."""
    import sys

    text = (DEPLOY / "ward-backoffice.service").read_text(encoding="utf-8")
    text = text.replace("/opt/ward/.venv/bin/python", sys.executable)
    text = re.sub(r"^(User|Group)=.*$", r"\1=root", text, flags=re.M)
    text = text.replace("EnvironmentFile=/etc/default/ward-backoffice",
                        f"EnvironmentFile={DEPLOY / 'ward-backoffice.env'}")
    copy = tmp_path / "ward-backoffice.service"
    copy.write_text(text, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)],
                          capture_output=True, text=True, timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if "ward-backoffice.service" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr
