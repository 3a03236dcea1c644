"""Chooses the ports from config: the real card/printer/sync packages or the stand-ins.

The real adapters translate the other packages' APIs (docs/card.md, docs/printing.md,
docs/sync.md) into the kiosk's ports (kiosk.ui.ports).
"""

from __future__ import annotations

import logging
from typing import Any

from kiosk.ui.settings import UiConfig
from kiosk.ui.standins import LocalDesk, StandInPrinter, StandInReader

log = logging.getLogger(__name__)


def make_ports(cfg: UiConfig, *, demo: bool = False) -> dict[str, Any]:
    ports: dict[str, Any] = {}
    if demo or cfg.card == "standin":
        reader = StandInReader()
        reader.place()
        ports["reader"] = reader
    else:
        ports["reader"] = pcsc_reader()
    ports["printer"] = StandInPrinter() if demo or cfg.printer == "standin" \
        else device_printer()
    ports["desk"] = LocalDesk() if demo or cfg.desk == "standin" else sync_desk(ports)
    return ports


def pcsc_reader() -> Any:
    raise NotImplementedError("the PC/SC card adapter is wired in once kiosk.card lands")


def device_printer() -> Any:
    raise NotImplementedError("the printer adapter is wired in once kiosk.printing lands")


def sync_desk(ports: dict[str, Any]) -> Any:
    raise NotImplementedError("the sync adapter is wired in once kiosk.sync lands")
