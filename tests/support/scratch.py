"""Fresh databases for a benchmark: SQLite files in a temporary folder (in RAM where
/dev/shm exists), or databases of a private PostgreSQL cluster started for the run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.postgres import PostgresCluster


@contextmanager
def fresh_databases(kind: str, prefix: str = "bench-") -> Iterator[Callable[[], str]]:
    """Yields a function giving the URL of a new, empty database at each call."""
    shm = Path("/dev/shm")  # SQLite in RAM when it can (PostgreSQL's own user needs /tmp)
    ram = kind == "sqlite" and shm.is_dir()
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=shm if ram else None))
    cluster = None
    count = 0

    def new() -> str:
        nonlocal count
        count += 1
        if cluster is not None:
            return cluster.create_database()
        return f"sqlite:///{root}/db{count}.sqlite3"

    try:
        if kind == "postgres":  # the cluster runs as user postgres: it must reach its folder
            root.chmod(0o755)
            (root / "pg").mkdir()
            (root / "pg").chmod(0o755)
            cluster = PostgresCluster(root / "pg")
            cluster.start()
        yield new
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
