"""Maintainer's CLI to check a reader and a card (console script ``ward-card``).

    python -m kiosk.card readers [--json]
    python -m kiosk.card read [--reader NAME] [--pin-stdin | --code-b-stdin] [--json]
                              [--with-number] [--show-number] [--auth] [--ca PEM ...]
                              [--timeout S]

`--code-b-stdin` opens the card with 照合番号B instead of the PIN (one line of 14 digits:
era birth date YYMMDD + expiry year + security code); the number then stays unread.

Exit 0 on success; otherwise one line on stderr and the error's code: 3 no pcscd,
4 no reader, 5 no card, 6 wrong PIN, 7 last try left (not sent), 8 blocked, 9 card
removed, 10 not a My Number card / unreadable data, 2 bad PIN input, 11 other.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from kiosk.card.authenticity import TrustedCa
from kiosk.card.config import CardConfig
from kiosk.card.errors import (
    CardError,
    CodeBBlocked,
    CodeBTriesLow,
    LastPinTry,
    NumberUnavailable,
    PinBlocked,
    WrongCodeB,
    WrongPin,
)
from kiosk.card.pcsc import PcscCardReader
from kiosk.domain.errors import ConfigError
from kiosk.domain.my_number import is_valid, mask
from kiosk.logsetup import configure


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ward-card", description="Check a My Number card "
                                     "reader and card (券面事項入力補助AP).")
    parser.add_argument("-v", "--verbose", action="store_true", help="log APDU headers")
    parser.add_argument("--config", help="kiosk.toml to take [card] from (default: config/)")
    sub = parser.add_subparsers(dest="command", required=True)
    readers = sub.add_parser("readers", help="list readers and the ATR of any card present")
    readers.add_argument("--json", action="store_true")
    read = sub.add_parser("read", help="read the basic four (PIN needed)")
    read.add_argument("--reader", help="reader name or a unique part of it")
    how = read.add_mutually_exclusive_group()
    how.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    how.add_argument("--code-b-stdin", action="store_true",
                     help="open with 照合番号B (14 digits from stdin) instead of the PIN")
    read.add_argument("--json", action="store_true")
    read.add_argument("--with-number", action="store_true", help="also read the 個人番号")
    read.add_argument("--show-number", action="store_true",
                      help="print the number unmasked (the holder must agree)")
    read.add_argument("--auth", action="store_true", help="check authenticity")
    read.add_argument("--ca", action="append", default=[], help="trusted CA public key (PEM)")
    read.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a card")
    return parser


def _config(path: str | None) -> CardConfig:
    if path is None:
        from kiosk.configfile import CONFIG_DIR

        default = CONFIG_DIR / "kiosk.toml"
        if not default.exists():
            return CardConfig()
        path = str(default)
    return CardConfig.load(path)


def _readers(config: CardConfig, as_json: bool) -> int:
    reader = PcscCardReader(config.reader)
    try:
        states = reader.states()
    finally:
        reader.close()
    if as_json:
        print(json.dumps([{"reader": s.name, "card": s.card_present,
                           "atr": s.atr.hex(" ").upper() if s.card_present else None}
                          for s in states], ensure_ascii=False))
    elif not states:
        print("no readers")
    for s in states if not as_json else ():
        print(f"{s.name}\t{s.atr.hex(' ').upper() if s.card_present else '(no card)'}")
    return 0


def _read(config: CardConfig, args: argparse.Namespace) -> int:
    trusted = list(config.trusted_ca) + [TrustedCa.from_file(p) for p in args.ca]
    reader = PcscCardReader(args.reader if args.reader is not None else config.reader, trusted,
                            live_challenge=config.live_challenge)
    out: dict[str, Any] = {}
    try:
        # Ask for the PIN only once a card is there, as the kiosk does.
        with reader.wait_for_card(args.timeout) as session:
            out["reader"] = reader.reader_name()
            out["atr"] = session.atr.hex(" ").upper()
            if args.code_b_stdin:
                out["code_b_tries_left"] = session.code_b_tries_left()
                code = sys.stdin.readline().strip()
                session.verify_code_b(code)
                del code
            else:
                out["tries_left"] = session.tries_left()
                pin = sys.stdin.readline().strip() if args.pin_stdin else getpass.getpass("PIN: ")
                session.verify(pin)
                del pin
            out["opened_with"] = session.opened_with
            out["holder"] = session.read_holder().to_dict()
            if args.with_number:
                try:
                    number = session.read_my_number()
                except NumberUnavailable as exc:  # say so and go on without it
                    out["my_number"] = None
                    out["my_number_unavailable"] = exc.message_en
                else:
                    out["my_number"] = number if args.show_number else mask(number)
                    out["my_number_check_digit_ok"] = is_valid(number)
                    del number
            if args.auth:
                result = session.check_authenticity(with_number=args.with_number)
                out["authenticity"] = {"status": result.status.value, "reason": result.reason,
                                       "live_checked": result.live_checked}
            out["apdus"] = session.apdu_count
    finally:
        reader.close()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        for key, value in out.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    print(f"{key}.{k}: {v}")
            else:
                print(f"{key}: {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure("DEBUG" if args.verbose else "WARNING")
    try:
        config = _config(args.config)
        if args.command == "readers":
            return _readers(config, args.json)
        return _read(config, args)
    except CardError as exc:
        extra = ""
        if isinstance(exc, WrongPin | LastPinTry | PinBlocked | WrongCodeB | CodeBTriesLow
                      | CodeBBlocked):
            extra = f" (tries left: {exc.tries_left})"
        print(f"ward-card: {type(exc).__name__}: {exc.message_en}{extra}"
              + (f" [{exc.detail}]" if exc.detail else ""), file=sys.stderr)
        if getattr(args, "json", False):
            body: dict[str, Any] = {"error": type(exc).__name__, "message_ja": exc.message_ja,
                                    "message_en": exc.message_en}
            if hasattr(exc, "tries_left"):
                body["tries_left"] = exc.tries_left
            print(json.dumps(body, ensure_ascii=False))
        return exc.exit_code
    except (ConfigError, OSError, ValueError) as exc:
        print(f"ward-card: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
