"""`python -m kiosk`: the resident kiosk app, plus maintainer subcommands.

    python -m kiosk                                           the kiosk app (kiosk.ui)
    python -m kiosk provision --check FILE                    validate a provisioning file
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {
    "provision": "kiosk.provision",
}


def main(argv: list[str] | None = None) -> int:
    from kiosk.logsetup import configure

    # Every mode logs at INFO to stderr (the journal, under systemd), through the
    # redaction filter; Kivy's own logger joins it (kiosk.ui.app.configure_kivy).
    configure("INFO")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[args[0]])
        return int(module.main(args[1:]) or 0)
    # Import late: Kivy configures itself at import time and must not for subcommands.
    app = importlib.import_module("kiosk.ui.app")
    return int(app.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
