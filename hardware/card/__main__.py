"""``python -m hardware.card --port N --profile FILE [--log FILE]``: insert the stand-in card
into the vpcd reader listening on port N (Debian's default reader: 35963). Killing the
process pulls the card."""

from __future__ import annotations

import argparse
import logging
import sys

from hardware.card.applet import MyNumberApplet
from hardware.card.profile import PROFILES, Profile
from hardware.card.vpcd import connect, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hardware.card", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=35963)
    parser.add_argument("--profile", default=str(PROFILES / "yamada.toml"))
    parser.add_argument("--log", help="APDU log file (default: stderr)")
    args = parser.parse_args(argv)
    handler: logging.Handler = (logging.FileHandler(args.log, encoding="utf-8") if args.log
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    applet = MyNumberApplet(Profile.load(args.profile))
    try:
        sock = connect(args.host, args.port)
    except OSError as exc:
        print(f"cannot reach vpcd on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    logging.getLogger("hardware.card").info("card inserted (%s)", args.profile)
    try:
        serve(applet, sock)
    except (ConnectionError, KeyboardInterrupt):
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
