"""Day-end at the terminal: take its journal and have the back-office reconcile it.

    PAYMENT_SUPERVISOR_TOKEN=… python -m kiosk.payment.dayend --backoffice URL \\
        [--day YYYY-MM-DD] [--ward kita] [--journal FILE | --save FILE]

Run by the supervisor at closing (the terminal's 締め). The journal comes from the
terminal configured in config/kiosk.toml ([payment.terminal]) over the nexo
Reconciliation request, or from a file exported by the terminal / acquirer portal
(``--journal``); ``--save`` keeps what was fetched. Prints the report; exit status 1 when
anything disagrees, 2 when the terminal or back-office could not be asked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from kiosk.payment.client import BackofficeError, PaymentClient
from kiosk.payment.config import load_payment_settings
from kiosk.payment.terminal import NexoTcpTerminal, TerminalError

TOKEN_ENV = "PAYMENT_SUPERVISOR_TOKEN"  # noqa: S105 - a variable's name


def fetch_journal(config: str | None = None) -> dict[str, Any]:
    t = load_payment_settings(config).terminal
    return NexoTcpTerminal(t.host, t.port, sale_id=t.sale_id).journal()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backoffice", required=True, help="back-office base URL")
    ap.add_argument("--day", help="office day, YYYY-MM-DD (default today)")
    ap.add_argument("--ward")
    ap.add_argument("--journal", type=Path, help="a journal file instead of the terminal")
    ap.add_argument("--save", type=Path, help="write the fetched journal here too")
    ap.add_argument("--ca", help="CA bundle for the back-office's TLS certificate")
    ap.add_argument("--config", help="kiosk.toml to take [payment] from (default: config/)")
    args = ap.parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        print(f"set {TOKEN_ENV} to a supervisor's token", file=sys.stderr)
        return 2
    try:
        journal = (json.loads(args.journal.read_text(encoding="utf-8")) if args.journal
                   else fetch_journal(args.config))
    except (OSError, ValueError, TerminalError) as exc:
        print(f"no terminal journal: {exc}", file=sys.stderr)
        return 2
    if args.save and not args.journal:
        args.save.write_text(json.dumps(journal, ensure_ascii=False, indent=1), encoding="utf-8")
    client = PaymentClient(args.backoffice, token, timeout_s=30.0,
                           verify=args.ca if args.ca else True)
    try:
        report = client.reconcile_terminal(journal, args.day, args.ward)
    except BackofficeError as exc:
        print(f"reconciliation failed: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
