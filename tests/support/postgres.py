"""A private PostgreSQL 15 cluster for the test session (never a system service).

`postgres_cluster` (session) runs initdb + pg_ctl as user postgres in a temp dir, on a
free TCP port on 127.0.0.1 with its unix socket in that dir and fsync=off, and stops it at
the end. `postgres_url` (function) gives each test a fresh empty database. Tests using them
are skipped only when the PostgreSQL 15 binaries are not installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *args]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(args)]


class PostgresCluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "sock"
        self.log = root / "postgres.log"
        self.host = "127.0.0.1"
        self.port = 0

    def start(self) -> None:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                                     "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                                     "--no-sync"]),
                       check=True, capture_output=True)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                       "max_connections = 300\nshared_buffers = 128MB\n")
        for attempt in range(5):
            self.port = free_port()
            opts = f"-p {self.port} -h {self.host} -k {self.socket_dir}"
            done = subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data),
                                                "-l", str(self.log), "-w", "-t", "30",
                                                "-o", opts, "start"]),
                                  capture_output=True, text=True)
            if done.returncode == 0:
                return
            if attempt == 4:
                raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n"
                                   f"{self.log.read_text() if self.log.exists() else ''}")

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m",
                                     "immediate", "-w", "stop"]), capture_output=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def scratch_database(root: Path) -> Iterator[str]:
    """A private cluster under `root` (a bench's temp dir) for one run: its database's URL."""
    cluster = PostgresCluster(root / "pg")
    cluster.root.mkdir()
    cluster.start()
    try:
        yield cluster.create_database()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    root.chmod(0o755)
    cluster = PostgresCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    return postgres_cluster.create_database()
