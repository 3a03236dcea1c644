"""Migrations from an empty database (SQLite and PostgreSQL), config validation, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from kiosk.backoffice.config import Settings, load_settings
from kiosk.backoffice.db import alembic_config, current_revision, make_engine, migrate
from kiosk.backoffice.models import metadata
from kiosk.domain.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _check_schema(url: str) -> None:
    assert current_revision(url) is None
    migrate(url)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert current_revision(url) == head
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            assert {"tickets", "ticket_events", "ticket_sequences", "number_blocks", "staff",
                    "sessions", "devices", "wards", "services", "counters"} <= names
            ours = set(metadata.tables)
            diff = [d for d in compare_metadata(MigrationContext.configure(conn), metadata)
                    if not (d[0] == "remove_table" and d[1].name not in ours)
                    and not (d[0] in ("remove_index", "remove_fk")
                             and getattr(d[1], "table", None) is not None
                             and d[1].table.name not in ours)]
            assert diff == [], f"models and migrations disagree: {diff}"
            uniques = inspect(conn).get_unique_constraints("tickets")
            assert any(set(u["column_names"]) == {"ward", "origin_service", "day", "number"}
                       for u in uniques)
    finally:
        engine.dispose()
    migrate(url)  # idempotent


def test_migrations_from_empty_sqlite(tmp_path):
    _check_schema(f"sqlite:///{tmp_path}/empty.sqlite3")


@pytest.mark.postgres
def test_migrations_from_empty_postgres(postgres_url):
    _check_schema(postgres_url)


def test_shipped_config_is_valid():
    s = load_settings()
    assert s.queue.priority_rank["appointment"] < s.queue.priority_rank["normal"]


@pytest.mark.parametrize(("data", "key"), [
    ({"server": {"timezone": "Mars/Base"}}, "server.timezone"),
    ({"server": {"max_body_bytes": "big"}}, "server.max_body_bytes"),
    ({"queue": {"priority_rank": {"vip": 0}}}, "queue.priority_rank.vip"),
    ({"queue": {"transfer_keeps_place": "yes"}}, "queue.transfer_keeps_place"),
    ({"security": {"login_max_failures": 0}}, "security.login_max_failures"),
    ({"events": {"typo": 1}}, "events.typo"),
    ({"sevrer": {}}, "sevrer"),
    ({"fleet": {"keyring": "/nonexistent/ca.pem"}}, "fleet.keyring"),
    ({"fleet": {"max_downloads": 0}}, "fleet.max_downloads"),
    ({"fleet": {"retry_after_seconds": "soon"}}, "fleet.retry_after_seconds"),
])
def test_config_errors_name_file_and_key(data, key):
    with pytest.raises(ConfigError) as err:
        Settings.from_mapping(data, file="config/backoffice.toml")
    assert err.value.file == "config/backoffice.toml" and err.value.key == key
    assert str(err.value).startswith(f"config/backoffice.toml: {key}: ")


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.backoffice", *args], cwd=REPO,
                          capture_output=True, text=True, input=stdin, timeout=120)


def test_cli_migrate_create_staff_and_device(tmp_path):
    db = f"sqlite:///{tmp_path}/cli.sqlite3"
    assert _cli("migrate", "--db", db).returncode == 0
    done = _cli("create-staff", "--db", db, "--username", "tanaka", "--role", "supervisor")
    assert done.returncode == 0 and "password: " in done.stdout  # generated, shown once
    short = _cli("create-staff", "--db", db, "--username", "x", "--role", "staff",
                 "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "12 characters" in short.stderr
    dev = _cli("create-device", "--db", db, "--name", "kiosk-kita-7", "--kind", "kiosk",
               "--ward", "kita")
    assert dev.returncode == 0 and "token: dv_" in dev.stdout
    bad = _cli("create-device", "--db", db, "--name", "k", "--kind", "kiosk", "--ward", "mars")
    assert bad.returncode == 2 and "unknown ward" in bad.stderr
    fresh = f"sqlite:///{tmp_path}/unmigrated.sqlite3"
    refused = _cli("serve", "--db", fresh, "--port", "1")
    assert refused.returncode == 2 and "not migrated" in refused.stderr
    broken = tmp_path / "bad.toml"
    broken.write_text('[queue]\nmax_block_size = "lots"\n')
    cfg = _cli("serve", "--db", db, "--config", str(broken))
    assert cfg.returncode == 2 and "queue.max_block_size" in cfg.stderr


@pytest.mark.postgres
def test_waiting_counts_statement_trigger_goes_down_and_up(postgres_url):
    """0590 moves the inserted tickets' counting to a statement trigger; down restores
    0201's row trigger for inserts, up again the statement one."""
    from alembic import command

    def triggers() -> set[str]:
        engine = make_engine(postgres_url, pool_size=1)
        try:
            with engine.connect() as conn:
                return {r[0] for r in conn.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'tickets'::regclass "
                    "AND NOT tgisinternal")}
        finally:
            engine.dispose()

    migrate(postgres_url)
    both = {"tickets_waiting_count", "tickets_waiting_count_inserted"}
    assert both <= triggers()
    command.downgrade(alembic_config(postgres_url), "0580_event_order")
    assert "tickets_waiting_count_inserted" not in triggers()
    assert "tickets_waiting_count" in triggers()
    command.upgrade(alembic_config(postgres_url), "head")
    assert both <= triggers()
