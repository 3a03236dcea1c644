"""A real back-office process for the payment tests: the back-office's own app factory,
migrations (payments included), catalog sync and account/device provisioning, served by
uvicorn on a free port (bound here, so there is no port race).

    python -m tests.payment.bo_server --db sqlite:///x.db --seed out.json

Writes the kiosk device tokens and staff passwords to the seed file, then serves.
Tickets are issued by the tests through the real API, so fees come from the server.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
from pathlib import Path

import uvicorn

from kiosk.backoffice.app import backoffice_from, create_app
from kiosk.backoffice.db import migrate
from kiosk.backoffice.seed import create_device, create_staff, sync_catalog


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--seed", required=True, help="write tokens and passwords here")
    args = ap.parse_args()
    migrate(args.db)
    config = Path(args.seed).with_name("backoffice.toml")
    # Tests run at any hour: do not refuse tickets outside the ward's opening hours.
    config.write_text("[queue]\nenforce_opening_hours = false\n")
    bo = backoffice_from(args.db, str(config))
    sync_catalog(bo.engine, bo.catalog)
    data: dict[str, object] = {"passwords": {}, "tokens": {}}
    for username, role, ward in (("staff", "staff", "kita"), ("boss", "supervisor", None)):
        password = secrets.token_urlsafe(16)
        create_staff(bo.engine, username, role, ward, password)
        data["passwords"][username] = password  # type: ignore[index]
    for ward in ("kita", "naka"):
        data["tokens"][f"kiosk-{ward}"] = create_device(  # type: ignore[index]
            bo.engine, f"kiosk-{ward}-1", "kiosk", ward)[1]
    app = create_app(bo)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    data["port"] = sock.getsockname()[1]
    Path(args.seed).write_text(json.dumps(data))
    print(f"BACKOFFICE LISTENING {data['port']}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
