"""The stand-in card.

``python -m hardware.card [--port N] [--profile FILE] [--log FILE]``: insert the card into
the vpcd reader listening on port N (Debian's default reader: 35963, i.e. a system pcscd).
Killing the process pulls the card.

``python -m hardware.card rig [--profile NAME|FILE]``: a private pcscd (its own socket and
port, the system's untouched) with the card inserted; prints the reader name and the
``PCSCLITE_CSOCK_NAME`` to export, and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import sys

from hardware.card.applet import MyNumberApplet
from hardware.card.profile import PROFILES, Profile
from hardware.card.vpcd import connect, serve


def rig(argv: list[str]) -> int:
    import shutil
    import signal
    import tempfile
    from pathlib import Path

    from hardware.card.rig import CardSlot, start_pcscd

    parser = argparse.ArgumentParser(prog="python -m hardware.card rig")
    parser.add_argument("--profile", default="yamada", help="profile name or file")
    args = parser.parse_args(argv)
    directory = Path(tempfile.mkdtemp(prefix="ward-card-rig-"))
    directory.chmod(0o755)
    pcscd = start_pcscd(directory)
    slot = CardSlot(pcscd, directory)
    try:
        card = slot.insert(args.profile)
        print(f"reader: {pcscd.reader}")
        print(f"export PCSCLITE_CSOCK_NAME={pcscd.socket}")
        print(f"APDU log: {card.log_path}")
        print("Ctrl-C to pull the card and stop.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        slot.remove()
        pcscd.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["rig"]:
        return rig(argv[1:])
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
