"""The real back-office as a subprocess, for any test that talks to it over HTTP.

Fixtures (see docs/api.md §0):
- `backoffice`: a server on a free port against a fresh temp SQLite file;
- `backoffice_pg`: the same against a fresh database of the private PostgreSQL cluster;
- `backoffice_factory`: `start(db_url=None | "postgres" | URL, *, workers=1, config=None,
  env=None)` for anything else; everything it started is stopped at teardown.

Each database is migrated, the catalog synced and seeded with the accounts `staff` (ward
kita), `supervisor` and `admin` (passwords in `.passwords`) and a kiosk and a display
token per ward. By default the server ignores opening hours so tests run at any hour.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parents[2]
TEST_PASSWORDS = {u: "test-" + secrets.token_urlsafe(12) for u in ("staff", "supervisor", "admin")}
# Tests read /openapi.json (schemathesis); production's config/backoffice.toml keeps it off.
TEST_CONFIG: dict[str, Any] = {"queue": {"enforce_opening_hours": False},
                               "security": {"api_docs": True},
                               # many calls from 127.0.0.1; test_congestion sets its own
                               "public": {"requests_per_minute": 100_000}}


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_toml(data: Mapping[str, Any], path: Path, prefix: str = "") -> None:
    lines: list[str] = []

    def table(name: str, items: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in items.items() if not isinstance(v, Mapping)}
        if name:
            lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        for k, v in items.items():
            if isinstance(v, Mapping):
                table(f"{name}.{k}" if name else k, v)

    table(prefix, data)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def server_config(path: Path, overrides: Mapping[str, Any] | None = None) -> Path:
    with (REPO / "config" / "backoffice.toml").open("rb") as fh:
        base = tomllib.load(fh)
    write_toml(_merge(_merge(base, TEST_CONFIG), overrides or {}), path)
    return path


def prepare_database(db_url: str, catalog: Path | None = None) -> dict[str, Any]:
    """Migrate, sync the catalog and seed with the test passwords; returns the secrets."""
    from kiosk.backoffice.db import make_engine, migrate
    from kiosk.backoffice.seed import seed_demo
    from kiosk.configfile import load_catalog

    migrate(db_url)
    engine = make_engine(db_url, pool_size=1)
    try:
        return seed_demo(engine, load_catalog(catalog), passwords=TEST_PASSWORDS)
    finally:
        engine.dispose()


class BackofficeServer:
    def __init__(self, db_url: str, var_dir: Path, secrets_: Mapping[str, Any], *,
                 workers: int = 1, config: Mapping[str, Any] | None = None,
                 env: Mapping[str, str] | None = None, port: int | None = None,
                 host: str = "127.0.0.1", catalog: Path | None = None) -> None:
        self.db_url = db_url
        self.host = host
        self.catalog = catalog
        self.var_dir = var_dir
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        self.config_path = server_config(var_dir / "backoffice.toml", config)
        self.passwords = {a["username"]: a["password"] for a in secrets_["accounts"]}
        self.device_tokens = {(d["kind"], d["ward"]): d["token"] for d in secrets_["devices"]}
        first = next(w for k, w in self.device_tokens if k == "kiosk")  # kita in the demo
        self.kiosk_token = self.device_tokens[("kiosk", first)]
        self.display_token = self.device_tokens[("display", first)]
        self.env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = var_dir / "server.log"
        self._tokens: dict[str, str] = {}

    # --- process ---------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> BackofficeServer:
        env = {**os.environ, "PYTHONPATH": str(REPO), **self.env}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.backoffice", "serve", "--db", self.db_url,
             "--host", self.host, "--port", str(self.port), "--workers", str(self.workers),
             "--config", str(self.config_path), "--log-level", "WARNING",
             *(["--catalog", str(self.catalog)] if self.catalog else [])],
            cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"back-office exited with {self.proc.returncode}:\n"
                                   + self.log_text()[-3000:])
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("back-office did not become healthy:\n" + self.log_text()[-3000:])

    def _signal_group(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)  # the server and its workers: our own group
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.proc is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait(5)
        self.proc = None

    def restart(self) -> BackofficeServer:
        self.stop()
        self._tokens.clear()
        return self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # --- clients ---------------------------------------------------------------------
    def login(self, username: str = "staff") -> str:
        if username not in self._tokens:
            r = requests.post(self.url + "/api/v1/auth/login", timeout=10,
                              json={"username": username, "password": self.passwords[username]})
            r.raise_for_status()
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    def token(self, who: str) -> str:
        if who == "kiosk":
            return self.kiosk_token
        if who == "display":
            return self.display_token
        return self.login(who)

    def session(self, who: str = "staff") -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token(who)}"
        return s

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"


class ServerFactory:
    """Starts back-office servers on prepared databases; `close()` stops them all."""

    def __init__(self, root: Path, request: pytest.FixtureRequest | None = None,
                 cluster: Any = None) -> None:
        self.root = root
        self.request = request
        self.cluster = cluster  # a PostgresCluster, when not taken from the pytest request
        self.servers: list[BackofficeServer] = []
        self._sqlite_template: tuple[Path, dict[str, Any]] | None = None

    def sqlite_database(self, var_dir: Path) -> tuple[str, dict[str, Any]]:
        template = _session_templates.get("sqlite")
        if template is None:
            tdir = Path(tempfile.mkdtemp(prefix="bo-template-"))
            path = tdir / "template.sqlite3"
            template = (path, prepare_database(f"sqlite:///{path}"))
            _session_templates["sqlite"] = template
        path, secrets_ = template
        target = var_dir / "backoffice.sqlite3"
        shutil.copyfile(path, target)
        return f"sqlite:///{target}", secrets_

    def postgres_database(self) -> tuple[str, dict[str, Any]]:
        cluster = self.cluster
        if cluster is None:
            if self.request is None:
                raise RuntimeError("a PostgreSQL server needs a cluster or the pytest request")
            cluster = self.request.getfixturevalue("postgres_cluster")
        key = f"pg:{cluster.port}"
        template = _session_templates.get(key)
        if template is None:
            name = f"bo_template_{secrets.token_hex(4)}"
            template = (name, prepare_database(cluster.create_database(name)))
            _session_templates[key] = template
        name, secrets_ = template
        import psycopg

        db = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}" TEMPLATE "{name}"')
        return cluster.url(db), secrets_

    def start(self, db_url: str | None = None, *, workers: int = 1,
              config: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
              ) -> BackofficeServer:
        var_dir = Path(tempfile.mkdtemp(prefix="bo-", dir=self.root))
        if db_url is None:
            db_url, secrets_ = self.sqlite_database(var_dir)
        elif db_url == "postgres":
            db_url, secrets_ = self.postgres_database()
        else:
            secrets_ = prepare_database(db_url)
        server = BackofficeServer(db_url, var_dir, secrets_, workers=workers, config=config,
                                  env=env)
        self.servers.append(server)
        return server.start()

    def also(self, other: BackofficeServer, *, workers: int = 1) -> BackofficeServer:
        """Another server process on the same database as `other` (its own port)."""
        var_dir = Path(tempfile.mkdtemp(prefix="bo-", dir=self.root))
        secrets_ = {"accounts": [{"username": u, "password": p}
                                 for u, p in other.passwords.items()],
                    "devices": [{"kind": k, "ward": w, "token": t}
                                for (k, w), t in other.device_tokens.items()]}
        server = BackofficeServer(other.db_url, var_dir, secrets_, workers=workers,
                                  env=other.env)
        server.config_path.write_text(other.config_path.read_text())
        self.servers.append(server)
        return server.start()

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


_session_templates: dict[str, Any] = {}


@pytest.fixture
def backoffice_factory(request: pytest.FixtureRequest, tmp_path: Path
                       ) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path, request)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def backoffice(backoffice_factory: ServerFactory) -> BackofficeServer:
    return backoffice_factory.start()


@pytest.fixture
def backoffice_pg(backoffice_factory: ServerFactory) -> BackofficeServer:
    return backoffice_factory.start("postgres")
