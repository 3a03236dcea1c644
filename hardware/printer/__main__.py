"""``python -m hardware.printer``: run the stand-in printer until Ctrl-C.

Every job lands in --out as job-NNNN.png (look at it), .bin and .json.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from hardware.printer.server import StandInPrinter


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hardware.printer", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--out", default="var/printer", help="where jobs are written")
    parser.add_argument("--width", type=int, default=576, help="printable dots per line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with StandInPrinter(args.host, args.port, output_dir=args.out, width_px=args.width) as p:
        print(f"stand-in printer on {p.host}:{p.port}, jobs in {args.out}", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
