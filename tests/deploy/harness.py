"""The reference deployment (deploy/) brought up on this machine, for tests and benchmarks.

`Deployment` starts, under one temp dir: a test CA and a server certificate (openssl);
a PostgreSQL primary and a streaming, synchronous standby made with deploy/postgresql's
scripts (WAL archive included); two back-office processes on their own loopback addresses
(127.0.0.2, 127.0.0.3) whose database URL names both PostgreSQL hosts with
target_session_attrs=read-write; and HAProxy with deploy/haproxy/haproxy.cfg terminating
TLS on 127.0.0.1. Everything is stopped (by its own PID) at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import requests

from tests.support.backoffice import REPO, BackofficeServer, prepare_database
from tests.support.postgres import PG_BIN, _as_postgres, free_port

DEPLOY = REPO / "deploy"
PGDEPLOY = DEPLOY / "postgresql"
BACKOFFICE_HOSTS = ("127.0.0.2", "127.0.0.3")


def _run(args: list[str], *, postgres: bool = False, env: Mapping[str, str] | None = None,
         ) -> str:
    if postgres:
        args = _as_postgres(["env", f"PATH={PG_BIN}:/usr/bin:/bin", *[f"{k}={v}" for k, v in
                                                                    (env or {}).items()], *args])
    # as postgres, from a directory it may enter (a checkout can sit under /root)
    done = subprocess.run(args, capture_output=True, text=True, cwd="/" if postgres else REPO,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def make_ca(root: Path, ip: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throw-away CA and a server certificate for `ip`; returns (ca.pem, server.pem with
    the key, as HAProxy wants it)."""
    root.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, crt = (root / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr",
                                                     "srv.crt"))
    _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
          "-subj", "/CN=ward test CA"])
    _run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", str(key), "-out", str(csr), "-subj", "/CN=ward.test"])
    ext = root / "ext.cnf"
    ext.write_text(f"subjectAltName=IP:{ip},DNS:ward.test\nextendedKeyUsage=serverAuth\n")
    _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
          "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext)])
    pem = root / "server.pem"
    pem.write_text(crt.read_text() + key.read_text())
    return ca, pem


class PgNode:
    """One PostgreSQL cluster of the deployment (primary or standby)."""

    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.data = root / name
        self.log = root / f"{name}.log"
        self.sock = root / "sock"
        self.port = free_port()

    def conninfo(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
              "-t", "60", "-o", f"-p {self.port} -h 127.0.0.1 -k {self.sock}", "start"],
             postgres=True)

    def postmaster(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().split()[0])
        return None

    def kill(self) -> None:
        """As a crash: SIGKILL the postmaster and every backend it started."""
        pid = self.postmaster()
        if pid is None:
            return
        children = [int(p) for p in os.listdir("/proc") if p.isdigit()
                    and _ppid(int(p)) == pid]
        for p in [pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in [pid, *children]):
            time.sleep(0.05)

    def stop(self) -> None:
        if self.postmaster() is not None:
            subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m",
                                         "immediate", "-w", "stop"]), capture_output=True)

    def is_primary(self) -> bool:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        return row is not None and not row[0]


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Deployment:
    def __init__(self, root: Path, *, config: Mapping[str, Any] | None = None,
                 catalog: Path | None = None) -> None:
        self.root = root
        self.pg_root = root / "pg"
        self.archive = self.pg_root / "archive"
        self.backups = self.pg_root / "backups"
        self.primary = PgNode(self.pg_root, "primary")
        self.standby = PgNode(self.pg_root, "standby1")
        self.config = dict(config or {})
        self.catalog = catalog
        self.servers: list[BackofficeServer] = []
        self.haproxy: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.dbname = "ward"
        self.ca: Path | None = None
        self.admin_sock = root / "haproxy.sock"

    # --- PostgreSQL ----------------------------------------------------------------------
    def start_database(self) -> None:
        self.pg_root.mkdir(parents=True)
        (self.pg_root / "sock").mkdir()
        self.backups.mkdir()
        if os.geteuid() == 0:
            for d in (self.pg_root, self.pg_root / "sock", self.backups):
                shutil.chown(d, "postgres", "postgres")
        self.root.chmod(0o755)
        shutil.copytree(PGDEPLOY, self.pg_root / "bin")  # where the postgres user may run them
        p = self.primary
        _run([str(PG_BIN / "initdb"), "-D", str(p.data), "-A", "trust", "-U", "postgres",
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], postgres=True)
        with (p.data / "postgresql.conf").open("a") as conf:  # before the include: test speed
            conf.write("\nfsync = off\nfull_page_writes = off\nmax_connections = 300\n")
        _run([self.script("setup-primary"), str(p.data), str(self.archive)], postgres=True,
             env={"WARD_REPLICA_AUTH": "trust"})
        p.start()
        _run([self.script("create-replicator"), p.conninfo()], postgres=True)
        _run([self.script("setup-standby"), p.conninfo(user="replicator"),
              str(self.standby.data), str(self.archive), "standby1"], postgres=True)
        self.standby.start()
        import psycopg

        with psycopg.connect(p.conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')

    def script(self, name: str) -> str:
        """deploy/postgresql/<name>, copied under the deployment's root: the checkout may
        sit under a home the postgres user cannot enter (a CI clone in /root)."""
        return str(self.pg_root / "bin" / name)

    def db_url(self) -> str:
        """What the back-office hosts are given: both database hosts, the writable one wins."""
        return (f"postgresql://postgres@/{self.dbname}?host=127.0.0.1,127.0.0.1"
                f"&port={self.primary.port},{self.standby.port}"
                "&target_session_attrs=read-write&connect_timeout=3")

    def replication_state(self) -> list[tuple[str, str, str]]:
        import psycopg

        with psycopg.connect(self.primary.conninfo(), autocommit=True) as conn:
            return [tuple(r) for r in conn.execute(
                "SELECT application_name, state, sync_state FROM pg_stat_replication")]

    def failover(self) -> None:
        """Kill the primary (a crash), promote the standby."""
        self.primary.kill()
        _run([self.script("promote"), str(self.standby.data)], postgres=True)

    # --- back-office and proxy ---------------------------------------------------------
    def start_servers(self, workers: int = 1) -> None:
        secrets_ = prepare_database(self.primary.url(self.dbname), self.catalog)
        for host in BACKOFFICE_HOSTS:
            var = Path(tempfile.mkdtemp(prefix="bo-", dir=self.root))
            server = BackofficeServer(self.db_url(), var, secrets_, workers=workers,
                                      config=self.config, host=host, catalog=self.catalog)
            self.servers.append(server)
            server.start()

    def start_proxy(self) -> None:
        self.ca, pem = make_ca(self.root / "tls")
        env = {**os.environ, "WARD_TLS_PEM": str(pem), "WARD_BIND": f"127.0.0.1:{self.port}",
               "WARD_STATS": f"127.0.0.1:{free_port()}",
               "WARD_ADMIN_SOCK": str(self.admin_sock),
               "WARD_BO1": f"{self.servers[0].host}:{self.servers[0].port}",
               "WARD_BO2": f"{self.servers[1].host}:{self.servers[1].port}"}
        cfg = DEPLOY / "haproxy" / "haproxy.cfg"
        _run(["haproxy", "-c", "-q", "-f", str(cfg)], env=env)
        log = (self.root / "haproxy.log").open("ab")
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], env=env,
                                        stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException, OSError):
                if (self.get("/healthz").status_code == 200
                        and len(self.hosts_up()) == len(self.servers)):
                    return
            time.sleep(0.1)
        raise RuntimeError("HAProxy did not answer with all hosts up:\n" + self.haproxy_log())

    def hosts_up(self) -> list[str]:
        """The back-office hosts HAProxy has in service (its health checks pass)."""
        return [line.split(",")[1] for line in self.haproxy_admin("show stat").splitlines()
                if line.startswith("backoffice,bo") and line.split(",")[17] == "UP"]

    def haproxy_admin(self, command: str) -> str:
        """One command on HAProxy's admin socket (as `socat` would send it)."""
        import socket

        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.admin_sock))
            s.sendall(command.encode() + b"\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def haproxy_log(self) -> str:
        path = self.root / "haproxy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tls(self) -> ssl.SSLContext:
        assert self.ca is not None
        return ssl.create_default_context(cafile=str(self.ca))

    def get(self, path: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + path, verify=str(self.ca), timeout=10, **kw)

    @property
    def front(self) -> BackofficeServer:
        """Tokens and passwords (shared by both hosts)."""
        return self.servers[0]

    def close(self) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait(5)
        for server in self.servers:
            server.stop()
        self.standby.stop()
        self.primary.stop()


@contextlib.contextmanager
def deployment(config: Mapping[str, Any] | None = None, workers: int = 1,
               catalog: Path | None = None) -> Iterator[Deployment]:
    root = Path(tempfile.mkdtemp(prefix="ward-deploy-"))
    dep = Deployment(root, config=config, catalog=catalog)
    try:
        dep.start_database()
        dep.start_servers(workers)
        dep.start_proxy()
        yield dep
    finally:
        dep.close()
        shutil.rmtree(root, ignore_errors=True)
