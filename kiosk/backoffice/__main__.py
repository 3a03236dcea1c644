"""Command line: serve, migrate, seed-demo, create-staff, reset-password, create-device,
rotate-device-token, purge, catalog (import/export/versions). Creating never overwrites: a
taken name is refused; resetting a password or a device token is its own command (audited;
sessions / the old token end).

    python -m kiosk.backoffice serve --db URL --host H --port P [--workers N]
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from kiosk.domain.errors import ConfigError

log = logging.getLogger("kiosk.backoffice")

DEFAULT_DB = "sqlite:///var/backoffice.sqlite3"


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=os.environ.get("WARD_BACKOFFICE_DB", DEFAULT_DB),
                   help="SQLAlchemy/libpq URL or SQLite file path (default: %(default)s)")
    p.add_argument("--catalog", help="procedure catalog TOML (default: config/catalog.toml)")


def _password_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin (else prompted, or generated if empty)")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ward-backoffice", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the HTTP server")
    _db_arg(s)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1,
                   help="server processes (PostgreSQL only; SQLite runs one)")
    s.add_argument("--config", help="back-office TOML (default: config/backoffice.toml)")
    s.add_argument("--migrate", action="store_true", help="migrate the database first")
    s.add_argument("--log-level", default="INFO")
    mg = sub.add_parser("migrate", help="create/upgrade the schema (Alembic)")
    _db_arg(mg)
    sd = sub.add_parser("seed-demo", help="demo accounts and device tokens (random secrets)")
    _db_arg(sd)
    sd.add_argument("--credentials-out", help="also write the secrets to this JSON file")
    cs = sub.add_parser("create-staff", help="create a staff account (refused if it exists)")
    _db_arg(cs)
    cs.add_argument("--username", required=True)
    cs.add_argument("--role", required=True, choices=("staff", "supervisor", "admin", "central"))
    cs.add_argument("--ward", help="bind the account to one ward")
    _password_arg(cs)
    rp = sub.add_parser("reset-password", help="a new password for a staff account; "
                        "its sessions end")
    _db_arg(rp)
    rp.add_argument("--username", required=True)
    _password_arg(rp)
    cd = sub.add_parser("create-device", help="provision a kiosk, display or payment-"
                        "terminal token (refused if the name exists)")
    _db_arg(cd)
    cd.add_argument("--name", required=True)
    cd.add_argument("--kind", required=True, choices=("kiosk", "display", "terminal"))
    cd.add_argument("--ward", required=True)
    rt = sub.add_parser("rotate-device-token", help="a new token for a device; the old one "
                        "stops working")
    _db_arg(rt)
    rt.add_argument("--name", required=True)
    sim = sub.add_parser("simulate", help="replay a ward day through the engine on a "
                         "simulated clock (docs/statistics.md)")
    from kiosk.backoffice.simulation.cli import add_arguments

    add_arguments(sim)
    from kiosk.backoffice.catalog_cli import add_arguments as catalog_arguments

    catalog_arguments(sub, _db_arg)
    pg = sub.add_parser("purge", help="delete the personal data past its retention "
                        "([retention] in the config); the server also does it by itself")
    _db_arg(pg)
    pg.add_argument("--config", help="back-office TOML (default: config/backoffice.toml)")
    pg.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    vk = sub.add_parser("vapid-keys", help="a new VAPID key pair for Web Push: the private "
                        "key to a PEM file ([notify] vapid_private_key), the public key printed")
    vk.add_argument("--out", required=True, help="PEM file to write (refused if it exists)")
    return ap


def _vapid_keys(out: Path) -> int:
    from kiosk.backoffice.webpush import new_key_pem

    if out.exists():
        print(f"ward-backoffice: {out} exists; not overwritten (subscriptions are bound "
              "to the key)", file=sys.stderr)
        return 2
    pem, public = new_key_pem()
    out.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
        fh.write(pem)
    print(json.dumps({"private_key_file": str(out), "public_key": public}))
    return 0


def _is_migrated(url: str) -> bool:
    """True when the schema is at the head revision, else says how to migrate."""
    from alembic.script import ScriptDirectory

    from kiosk.backoffice.db import alembic_config, current_revision

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if current_revision(url) == head:
        return True
    print(f"ward-backoffice: the database {url} is not migrated to {head}; run "
          "`python -m kiosk.backoffice migrate --db ...` (or serve --migrate)", file=sys.stderr)
    return False


def _purge(args: argparse.Namespace) -> int:
    from kiosk.backoffice.app import backoffice_from
    from kiosk.backoffice.auth import purge_sessions
    from kiosk.backoffice.db import normalize_url
    from kiosk.backoffice.retention import purge

    url = normalize_url(args.db)
    if not _is_migrated(url):
        return 2
    bo = backoffice_from(url, args.config, args.catalog)
    try:
        report = purge(bo, dry_run=args.dry_run, by="command")
        sessions = 0 if args.dry_run else purge_sessions(bo)
    finally:
        bo.engine.dispose()
    r = bo.settings.retention
    what = "would delete" if args.dry_run else "deleted"
    print(f"{what} the application data of {report.tickets} ticket(s): {report.finished} "
          f"finished (finished_grace={r.finished_grace}), {report.retention} issued more than "
          f"{r.max_days} day(s) ago; {report.notes} audit-trail note(s)"
          + ("" if args.dry_run else f"; {sessions} ended staff session(s)"))
    print(json.dumps(report.as_dict()))
    return 0


def _prepare(db: str, catalog_path: str | None, *, migrate: bool = True) -> Any:
    from kiosk.backoffice.db import make_engine, normalize_url
    from kiosk.backoffice.db import migrate as run_migrations
    from kiosk.backoffice.seed import sync_catalog
    from kiosk.configfile import load_catalog

    url = normalize_url(db)
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog(catalog_path)
    if migrate:
        run_migrations(url)
    engine = make_engine(url, pool_size=2)
    sync_catalog(engine, catalog)
    return url, engine, catalog


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n") or None
    if sys.stdin.isatty():
        return getpass.getpass("password (empty = generate): ") or None
    return None


def _accounts(args: argparse.Namespace) -> int:
    """create-staff, reset-password, create-device, rotate-device-token."""
    from kiosk.backoffice import seed

    _url, engine, catalog = _prepare(args.db, args.catalog, migrate=False)
    try:
        if getattr(args, "ward", None) and args.ward not in catalog.wards:
            print(f"unknown ward {args.ward!r}", file=sys.stderr)
            return 2
        if args.command == "create-staff":
            password = _password(args)
            pw = seed.create_staff(engine, args.username, args.role, args.ward, password)
            print(f"staff {args.username} ({args.role})" + ("" if password else f" password: {pw}"))
        elif args.command == "reset-password":
            password = _password(args)
            pw, ended = seed.reset_password(engine, args.username, password)
            print(f"staff {args.username}: new password" + ("" if password else f": {pw}")
                  + f" ({len(ended)} session(s) ended)")
        elif args.command == "create-device":
            device_id, token = seed.create_device(engine, args.name, args.kind, args.ward)
            print(f"device {device_id} {args.name} ({args.kind}, {args.ward}) token: {token}")
        else:
            row, token, _old = seed.rotate_device_token(engine, args.name)
            print(f"device {row.id} {row.name} ({row.kind}, {row.ward}) new token: {token}")
    except seed.AlreadyExists as exc:
        hint = "reset-password" if args.command == "create-staff" else "rotate-device-token"
        print(f"ward-backoffice: {exc}; creating never overwrites (use {hint})", file=sys.stderr)
        return 1
    except seed.NoSuchAccount as exc:
        print(f"ward-backoffice: there is no {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kiosk.backoffice.app import ENV_CATALOG, ENV_CONFIG, ENV_DB
    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.db import is_sqlite, normalize_url
    from kiosk.backoffice.serving import UVICORN, serve_reuseport
    from kiosk.logsetup import uvicorn_log_config

    load_settings(args.config)  # fail now, with file + key, not in a worker
    url = normalize_url(args.db)
    if args.workers > 1 and is_sqlite(url):
        print("ward-backoffice: SQLite serves from one process; use PostgreSQL for "
              "--workers > 1", file=sys.stderr)
        return 2
    if args.migrate:
        _prepare(url, args.catalog)
    else:
        if not _is_migrated(url):
            return 2
        _prepare(url, args.catalog, migrate=False)[1].dispose()
    os.environ[ENV_DB] = url
    os.environ[ENV_CONFIG] = args.config or ""
    os.environ[ENV_CATALOG] = args.catalog or ""
    os.environ["WARD_BACKOFFICE_LOG_LEVEL"] = args.log_level
    log.info("back-office on http://%s:%d (%d worker(s))", args.host, args.port, args.workers)
    if args.workers > 1 and args.port != 0 and hasattr(socket, "SO_REUSEPORT"):
        return serve_reuseport(args.host, args.port, args.workers, args.log_level)
    uvicorn.run("kiosk.backoffice.app:app_from_env", factory=True, host=args.host,
                port=args.port, workers=args.workers,
                log_config=uvicorn_log_config(args.log_level), **UVICORN)
    return 0


def main(argv: list[str] | None = None) -> int:
    from kiosk.logsetup import configure

    args = _parser().parse_args(argv)
    configure(getattr(args, "log_level", "INFO"))
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "simulate":
            from kiosk.backoffice.simulation.cli import main as simulate

            return simulate(args)
        if args.command == "purge":
            return _purge(args)
        if args.command == "vapid-keys":
            return _vapid_keys(Path(args.out))
        if args.command == "migrate":
            _prepare(args.db, args.catalog)[1].dispose()
            print("migrated")
            return 0
        if args.command == "seed-demo":
            from kiosk.backoffice.seed import seed_demo

            _url, engine, catalog = _prepare(args.db, args.catalog)
            creds = seed_demo(engine, catalog)
            engine.dispose()
            text = json.dumps(creds, ensure_ascii=False, indent=2)
            if args.credentials_out:
                out = Path(args.credentials_out)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text + "\n", encoding="utf-8")
                out.chmod(0o600)
            print(text)
            return 0
        if args.command == "catalog":
            from kiosk.backoffice.catalog_cli import run as catalog_command

            engine = _prepare(args.db, None, migrate=False)[1]
            try:
                return catalog_command(args, engine)
            finally:
                engine.dispose()
        if args.command in ("create-staff", "reset-password", "create-device",
                            "rotate-device-token"):
            return _accounts(args)
    except (ConfigError, ValueError) as exc:
        print(f"ward-backoffice: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
