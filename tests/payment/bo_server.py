"""A back-office process for the payment tests: the real auth, context, schema
(Alembic) and payment router, served by uvicorn on a free port.

    python -m tests.payment.bo_server --db sqlite:///x.db --seed out.json

Until the back-office app factory (`kiosk.backoffice.app`) lands this builds the
app from its parts; the payment router is included exactly as the factory will.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
from datetime import UTC, date, datetime, timedelta

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert

from kiosk.backoffice import models as m
from kiosk.backoffice.auth import hash_token
from kiosk.backoffice.config import Settings
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import migrate, writing
from kiosk.backoffice.errors import ApiError
from kiosk.backoffice.payments.router import router as payments_router
from kiosk.configfile import load_catalog


def build(db: str) -> FastAPI:
    app = FastAPI()
    app.state.backoffice = Backoffice(db, Settings(), load_catalog())

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    app.include_router(payments_router, prefix="/api/v1")
    return app


def seed(app: FastAPI, tickets: list[tuple[str, int]]) -> dict[str, object]:
    bo: Backoffice = app.state.backoffice
    now = datetime.now(UTC).replace(tzinfo=None)
    out: dict[str, object] = {"tickets": []}
    with writing(bo.engine) as conn:
        for ward in bo.catalog.wards.values():
            conn.execute(insert(m.wards).values(code=ward.code, name=ward.name))
        for svc in bo.catalog.services.values():
            conn.execute(insert(m.services).values(code=svc.code, prefix=svc.prefix,
                                                   name=svc.name))
        tokens = {}
        for i, (kind, ward) in enumerate([("kiosk", "kita"), ("kiosk", "naka")], 1):
            token = "dv_" + secrets.token_urlsafe(24)
            conn.execute(insert(m.devices).values(id=i, name=f"{kind}-{ward}", kind=kind,
                                                  ward=ward, token_hash=hash_token(token),
                                                  created_at=now))
            tokens[f"{kind}-{ward}"] = token
        for i, (who, role) in enumerate([("staff", "staff"), ("boss", "supervisor")], 1):
            conn.execute(insert(m.staff).values(id=i, username=who, password_hash="x", role=role,
                                                ward="kita" if role == "staff" else None,
                                                created_at=now))
            token = "st_" + secrets.token_urlsafe(24)
            conn.execute(insert(m.sessions).values(token_hash=hash_token(token), staff_id=i,
                                                   created_at=now,
                                                   expires_at=now + timedelta(hours=1)))
            tokens[who] = token
        out["tokens"] = tokens
        for n, (procedure, fee) in enumerate(tickets, 1):
            tid = conn.execute(insert(m.tickets).values(
                ward="kita", origin_service="certificates", service="certificates",
                day=date.today(), number=n, label=f"A-{n:03d}", priority="normal", rank=2,
                language="ja", procedure=procedure, fee_yen=fee, status="waiting",
                queue_at=now, issued_at=now, idempotency_key=f"k{n}-{secrets.token_hex(4)}",
                request_hash="x", status_token=secrets.token_urlsafe(16),
                device_id=1)).inserted_primary_key[0]
            out["tickets"].append(tid)  # type: ignore[union-attr]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--seed", required=True, help="write tokens and ticket ids here")
    ap.add_argument("--tickets", default="juminhyo:600,inkan:300,koseki:450,juminhyo:300")
    args = ap.parse_args()
    migrate(args.db)
    app = build(args.db)
    tickets = [(p, int(f)) for p, f in (x.split(":") for x in args.tickets.split(","))]
    data = seed(app, tickets)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    data["port"] = sock.getsockname()[1]
    with open(args.seed, "w") as fh:
        json.dump(data, fh)
    print(f"BACKOFFICE LISTENING {data['port']}", flush=True)
    config = uvicorn.Config(app, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
