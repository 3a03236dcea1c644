"""Maintainer commands for the kiosk's sync store.

    python -m kiosk.sync keygen PATH          create the outbox encryption key (0600)
    python -m kiosk.sync status [--config F]  what waits in the outbox, offline numbers left
"""

from __future__ import annotations

import argparse
import sys

from kiosk.domain.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kiosk.sync", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    k = sub.add_parser("keygen", help="create the outbox encryption key")
    k.add_argument("path")
    st = sub.add_parser("status", help="outbox and offline numbers of this kiosk")
    st.add_argument("--config", help="kiosk TOML (default: config/kiosk.toml)")
    args = ap.parse_args(argv)
    from kiosk.logsetup import configure
    configure("INFO")
    try:
        if args.command == "keygen":
            from kiosk.sync.sealing import generate_key
            try:
                print(generate_key(args.path))
            except FileExistsError:
                print(f"{args.path} exists; refusing to overwrite a key "
                      "(sealed data would become unreadable)", file=sys.stderr)
                return 1
            return 0
        from kiosk.sync.link import KioskLink
        link = KioskLink.from_config(args.config)
        try:
            s = link.status()
            print(f"pending messages: {s.pending}  refused: {s.dead}")
            print(f"clock offset to the back-office: {s.clock_offset_seconds:+.1f} s")
            for service, n in sorted(s.offline_numbers_left.items()):
                print(f"offline numbers left today, {service}: {n}")
        finally:
            link.stop()
        return 0
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
