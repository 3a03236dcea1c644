"""Maintainer's tool for the ticket printer configured in config/kiosk.toml.

    python -m kiosk.printing status            # what the printer says (paper, cover, online)
    python -m kiosk.printing test-ticket       # print a sample ticket on it
    python -m kiosk.printing preview out.png   # the raster rendering of a sample ticket
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from kiosk.printing.config import load_printer_config, open_printer
from kiosk.printing.device import PrintError
from kiosk.printing.render import ticket_image
from kiosk.printing.slip import TicketSlip


def sample_slip(language: str = "ja") -> TicketSlip:
    return TicketSlip("北区役所", "住民票の写し", "A-012", "1・2番窓口", datetime.now(),
                      3, 12, "https://example.invalid/q/A-012", language)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.printing", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("status", "test-ticket", "preview"))
    parser.add_argument("out", nargs="?", default="ticket.png", help="preview: PNG to write")
    parser.add_argument("--config", help="kiosk.toml to read (default: config/kiosk.toml)")
    parser.add_argument("--language", default="ja")
    args = parser.parse_args(argv)
    from kiosk.logsetup import configure
    configure("WARNING")
    config = load_printer_config(args.config)
    if args.command == "preview":
        ticket_image(sample_slip(args.language), config.model.width_px).save(args.out)
        print(f"wrote {args.out}")
        return 0
    printer = open_printer(config)
    try:
        if args.command == "status":
            status = printer.status()
            print(f"{config.transport} {config.model.name}: online={status.online} "
                  f"paper={status.paper.value} cover_open={status.cover_open} "
                  f"error={status.error} can_print={status.can_print}")
            return 0 if status.can_print else 1
        try:
            printer.print_ticket(sample_slip(args.language))
        except PrintError as exc:
            print(f"not printed: {exc.code} ({exc.detail})", file=sys.stderr)
            return 1
        print("printed" + (f"; see {config.standin_output_dir}"
                           if config.transport == "standin" else ""))
        return 0
    finally:
        printer.close()


if __name__ == "__main__":
    sys.exit(main())
