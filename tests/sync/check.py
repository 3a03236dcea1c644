"""Ticket-by-ticket comparison of a kiosk's store with the back-office database.

Both sides are read directly (the kiosk's SQLite file, the back-office's SQLite or
PostgreSQL database), not through the code under test.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa


@dataclass
class Comparison:
    kiosk: dict[str, str]          # key -> number, every ticket the kiosk handed out
    server: dict[str, tuple[str, str, str, bool]]  # key -> (label, service, status, offline)
    lost: list[str]
    duplicated: list[str]
    phantoms: list[str]            # on the server, held by nobody, not cancelled
    mismatched: list[str]

    def assert_exact(self) -> None:
        assert not self.lost, f"lost on the back-office: {self.lost[:10]}"
        assert not self.duplicated, f"duplicated numbers: {self.duplicated[:10]}"
        assert not self.mismatched, f"different numbers on each side: {self.mismatched[:10]}"
        assert not self.phantoms, f"tickets nobody holds: {self.phantoms[:10]}"


def kiosk_tickets(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, number FROM tickets WHERE number IS NOT NULL").fetchall()
    return dict(rows)


def server_engine(db_url: str) -> sa.Engine:
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    return sa.create_engine(db_url)


def server_tickets(db_url: str, device_names: tuple[str, ...] | None = None
                   ) -> dict[str, tuple[str, str, str, bool]]:
    engine = server_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT t.idempotency_key, t.label, t.origin_service, t.status, t.offline, "
                "t.day, d.name FROM tickets t LEFT JOIN devices d ON d.id = t.device_id")).all()
    finally:
        engine.dispose()
    # The server scopes each key to its sender ("d<device id>:<key>", queue.issuer_key).
    return {r[0].split(":", 1)[-1]: (r[1], f"{r[2]}@{r[5]}", r[3], bool(r[4])) for r in rows
            if device_names is None or r[6] in device_names}


def compare(kiosk_dbs: list[Path], db_url: str) -> Comparison:
    kiosk: dict[str, str] = {}
    for db in kiosk_dbs:
        kiosk.update(kiosk_tickets(db))
    server = server_tickets(db_url)
    lost = [f"{k[:8]} {n}" for k, n in kiosk.items() if k not in server]
    mismatched = [f"{k[:8]} kiosk {n} server {server[k][0]}" for k, n in kiosk.items()
                  if k in server and server[k][0] != n]
    live = [(label, svc) for key, (label, svc, status, _) in server.items()
            if status != "cancelled"]
    duplicated = [f"{label} ({svc}) ×{n}" for (label, svc), n in Counter(live).items() if n > 1]
    phantoms = [f"{k[:8]} {v[0]} {v[2]}" for k, v in server.items()
                if k not in kiosk and v[2] != "cancelled"]
    return Comparison(kiosk, server, lost, duplicated, phantoms, mismatched)
