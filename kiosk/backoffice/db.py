"""Engines and migrations. SQLite (embedded, one process) or PostgreSQL (by URL).

SQLite: WAL, a busy timeout, and writing transactions opened with BEGIN IMMEDIATE so two
writers queue for the lock instead of deadlocking on a lock upgrade.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept libpq URLs (postgresql://) and plain file paths as well as SQLAlchemy URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if "://" not in url:
        return "sqlite:///" + str(Path(url).resolve())
    return url


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    # A database error's message would otherwise quote the bound values (an application's
    # name, address, ...) into the server log.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=pool_size, max_overflow=pool_size,
                               hide_parameters=True)
        _sqlite_setup(engine)
        return engine
    # pre-ping: after a failover the pooled connections to the old primary are dead; each
    # is tested (one round trip) before use and replaced, so a host recovers by itself. A
    # URL naming both database hosts with target_session_attrs=read-write finds the new
    # primary (docs/operations.md).
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=30,
                         pool_pre_ping=True, hide_parameters=True)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # A burst can grow the write-ahead log (the group writer checkpoints beside it and
        # restarts it at 32,000 frames, ≈ 128 MB): cut it back to 16 MB when it restarts.
        cur.execute("PRAGMA journal_size_limit=16777216")
        # Deleted and overwritten content (purged personal data, retention.py) is zeroed in
        # the file instead of lingering in free space.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        # on the DB-API connection: a full SQLAlchemy execution of BEGIN cost more than the
        # BEGIN (docs/statistics.md §6); its errors are wrapped as SQLAlchemy would
        dbapi = conn.connection.driver_connection
        try:
            dbapi.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")  # type: ignore[union-attr]
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance("BEGIN", None, exc, conn.dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=conn.dialect) from exc


def safe_error(exc: BaseException) -> str:
    """A database error described for the log without the values it concerns: PostgreSQL's
    DETAIL quotes them ("Failing row contains (..., 山田 太郎, ...)"), SQLAlchemy's message
    adds the statement. Other errors: their type and message."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg
        return (f"{type(orig).__name__} [{getattr(orig, 'sqlstate', None)}]: "
                f"{diag.message_primary}")
    return f"{type(orig).__name__}: {orig}"


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: commits on success, rolls back on any error."""
    with engine.connect() as conn:
        conn.execution_options(immediate=True)
        with conn.begin():
            yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def reading_one_snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction whose statements all see one snapshot (REPEATABLE READ on
    PostgreSQL; a SQLite read transaction already does): a live stream's opening, which
    must say exactly which events it covered (kiosk.backoffice.event_order)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` (creating it in an empty database)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


class Prepared:
    """A statement of the hot paths compiled once per dialect and run straight on the DB-API
    cursor of the caller's connection (its transaction) on SQLite, its values converted by
    the dialect's own bind processors and its rows by its result processors: the SQL, values
    and rows SQLAlchemy's `execute` would give, without its per-execution work (events,
    cache look-ups, result objects), which cost several times what SQLite itself takes for
    these statements (docs/statistics.md §6). Rows are named tuples (attribute access, like
    SQLAlchemy's). On PostgreSQL, where a round trip costs more than all that, it is an
    ordinary `execute`."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: tuple[str, list[tuple[str, Any, bool, Any]], Any, list[Any]] | None = None

    def _sqlite(self, dialect: Any) -> tuple[str, list[tuple[str, Any, bool, Any]], Any,
                                               list[Any]]:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=dialect)
            assert compiled.positional and "POSTCOMPILE" not in compiled.string, (
                "not for IN lists (expanded per execution)")  # SQLite's qmark style
            processors = compiled._bind_processors  # what execute() would apply
            # a bound parameter of the statement's own (a literal, a LIMIT) keeps its value
            fixed = {name: b.effective_value for name, b in compiled.binds.items()
                     if not b.required}
            binds = [(name, processors.get(name), name in fixed, fixed.get(name))
                     for name in compiled.positiontup or ()]
            columns = compiled._result_columns  # none for text(): its rows stay untyped
            row = namedtuple("Row", [c.keyname for c in columns]) if columns else None
            results = [c.type._cached_result_processor(dialect, None) for c in columns]
            self._compiled = (compiled.string, binds, row, results)
        return self._compiled

    def run(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Execute with `params`: the DB-API cursor (its rowcount; rows untyped) on SQLite."""
        dialect = conn.dialect
        if dialect.name != "sqlite":
            return conn.execute(self.statement, params)
        sql, binds, _, _ = self._sqlite(dialect)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            values = [value if own else params[n] for n, _, own, value in binds]
            cursor.execute(sql, [p(v) if p else v for (_, p, _, _), v in
                                 zip(binds, values, strict=True)])
        except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy raises it (IntegrityError …)
            raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=dialect) from exc
        return cursor

    def all(self, conn: Connection, params: dict[str, Any]) -> list[Any]:
        """Every row it answers, typed."""
        if conn.dialect.name != "sqlite":
            return list(conn.execute(self.statement, params).all())
        got = self.run(conn, params).fetchall()
        _, _, row, results = self._sqlite(conn.dialect)
        if row is None:
            return list(got)
        return [row._make([p(v) if p else v for p, v in zip(results, r, strict=True)])
                for r in got]

    def first(self, conn: Connection, params: dict[str, Any]) -> Any:
        """Its first row, typed, or None."""
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, params).first()
        cursor = self.run(conn, params)
        r = cursor.fetchone()
        cursor.close()
        if r is None:
            return None
        _, _, row, results = self._sqlite(conn.dialect)
        if row is None:
            return r
        return row._make([p(v) if p else v for p, v in zip(results, r, strict=True)])

    def scalar(self, conn: Connection, params: dict[str, Any]) -> Any:
        """The first column of the one row it answers."""
        r = self.first(conn, params)
        assert r is not None
        return r[0]
