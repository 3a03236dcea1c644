"""`python -m devtools`: the kiosk app with stand-ins, for development.

    python -m devtools --demo                     the kiosk against a demo back-office
    python -m devtools --demo --headless --walkthrough DIR
                                                  the same, the scripted visits offscreen
    python -m devtools --headless --walkthrough DIR
                                                  the scripted visits with in-process
                                                  stand-ins, one PNG per screen
    options: --config FILE, --modes (walkthrough in every display mode), --demo-dir DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--headless", action="store_true")
    parser.add_argument("--walkthrough", metavar="DIR")
    parser.add_argument("--modes", action="store_true",
                        help="walkthrough in default, large text, high contrast and English")
    parser.add_argument("--config", metavar="FILE")
    parser.add_argument("--demo-dir", metavar="DIR", type=Path,
                        help="--demo: where the demo keeps its files (default var/demo)")
    args = parser.parse_args(argv)
    if args.headless and not args.walkthrough:
        parser.error("--headless needs --walkthrough DIR")
    if not (args.demo or args.walkthrough):
        parser.error("--demo or --headless --walkthrough DIR")
    from kiosk.logsetup import configure
    configure("INFO")   # before Kivy is imported: its records go through the filter too
    from kiosk.domain.errors import ConfigError
    from kiosk.ui.app import configure_kivy
    from kiosk.ui.settings import UiConfig
    try:
        cfg = UiConfig.load(args.config)
    except ConfigError as exc:
        print(f"devtools: {exc}", file=sys.stderr)
        return 2
    if args.demo:
        configure_kivy(cfg, headless=bool(args.walkthrough), window=True)
        from devtools.kiosk_demo import run_demo
        return run_demo(cfg, walkthrough=Path(args.walkthrough) if args.walkthrough else None,
                        var_dir=args.demo_dir, all_modes=args.modes)
    configure_kivy(cfg, headless=True)
    from devtools.walkthrough import run_walkthrough
    return run_walkthrough(Path(args.walkthrough), cfg, all_modes=args.modes)


if __name__ == "__main__":
    sys.exit(main())
